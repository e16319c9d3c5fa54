package cfn

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Function is an AWS::Serverless::Function resource with Globals.Function merged in as SAM
// merges it: the function's own scalars win, environment variables merge key by key, lists are
// Globals' entries then the function's. TestFunctionsAgreeWithTheSAMTranslator holds this to
// aws-sam-translator's output.
type Function struct {
	LogicalID     string
	CodeURI       string // as written, e.g. "functions/callback/"
	Handler       string
	Runtime       string
	Architectures []string
	MemorySize    int           // MB; 0 when neither the function nor Globals sets it
	Timeout       time.Duration // 0 when neither the function nor Globals sets it
	// Environment holds the variables as written, !Ref and !Sub included, for the caller to
	// resolve against local table names and parameter values.
	Environment map[string]Value
	Routes      []Route       // its HttpApi events, in template order
	Streams     []StreamEvent // its DynamoDB events, in template order
}

// Route is one HttpApi event of a function.
type Route struct {
	Event  string // the event's name under Events
	API    string // logical id of the AWS::Serverless::HttpApi (ApiId: !Ref X); "" for SAM's implicit API
	Method string // upper case; "ANY" when the event names none
	Path   string // as written, with {params}; "$default" when the event names none
	// IAM is true when callers must sign with SigV4: the event's Auth.Authorizer is AWS_IAM,
	// or it names none and its API's DefaultAuthorizer (or Globals.HttpApi's) is AWS_IAM.
	IAM bool
}

type functionProps struct {
	CodeURI       *Value   `yaml:"CodeUri"`
	Handler       *Value   `yaml:"Handler"`
	Runtime       *Value   `yaml:"Runtime"`
	Architectures []string `yaml:"Architectures"`
	MemorySize    *Value   `yaml:"MemorySize"`
	Timeout       *Value   `yaml:"Timeout"`
	Environment   struct {
		Variables map[string]Value `yaml:"Variables"`
	} `yaml:"Environment"`
	Events yaml.Node `yaml:"Events"`
}

type apiProps struct {
	Auth struct {
		DefaultAuthorizer string `yaml:"DefaultAuthorizer"`
	} `yaml:"Auth"`
}

type event struct {
	Type       string    `yaml:"Type"`
	Properties yaml.Node `yaml:"Properties"`
}

type httpAPIEvent struct {
	APIID  *Value `yaml:"ApiId"`
	Method string `yaml:"Method"`
	Path   string `yaml:"Path"`
	Auth   struct {
		Authorizer string `yaml:"Authorizer"`
	} `yaml:"Auth"`
}

func function(id string, props *yaml.Node, globals *functionProps, globalAPI apiProps, apis map[string]apiProps) (Function, error) {
	var p functionProps
	if err := props.Decode(&p); err != nil {
		return Function{}, err
	}
	fn := Function{LogicalID: id, Environment: map[string]Value{}}
	// SAM appends a function's lists to Globals' (aws-sam-translator's globals merge); Lambda
	// takes one architecture, so a function naming its own beside Globals' fails to deploy.
	fn.Architectures = append(slices.Clone(globals.Architectures), p.Architectures...)
	if len(fn.Architectures) > 1 {
		return Function{}, fmt.Errorf("Architectures %v: SAM appends the function's list to Globals' and Lambda takes one; set it in one place", fn.Architectures)
	}
	maps.Copy(fn.Environment, globals.Environment.Variables)
	maps.Copy(fn.Environment, p.Environment.Variables)

	strs := []struct {
		name        string
		own, global *Value
		dst         *string
	}{
		{"CodeUri", p.CodeURI, globals.CodeURI, &fn.CodeURI},
		{"Handler", p.Handler, globals.Handler, &fn.Handler},
		{"Runtime", p.Runtime, globals.Runtime, &fn.Runtime},
	}
	for _, s := range strs {
		v, err := literal(s.name, s.own, s.global)
		if err != nil {
			return Function{}, err
		}
		*s.dst = v
	}
	mem, err := wholeNumber("MemorySize", p.MemorySize, globals.MemorySize)
	if err != nil {
		return Function{}, err
	}
	secs, err := wholeNumber("Timeout", p.Timeout, globals.Timeout)
	if err != nil {
		return Function{}, err
	}
	fn.MemorySize, fn.Timeout = mem, time.Duration(secs)*time.Second

	for _, e := range pairs(&p.Events) {
		var ev event
		if err := e.value.Decode(&ev); err != nil {
			return Function{}, fmt.Errorf("event %s: %w", e.key, err)
		}
		if ev.Type == "DynamoDB" {
			se, err := streamEvent(e.key, &ev.Properties)
			if err != nil {
				return Function{}, fmt.Errorf("event %s: %w", e.key, err)
			}
			fn.Streams = append(fn.Streams, se)
			continue
		}
		if ev.Type != "HttpApi" {
			continue
		}
		r, err := route(e.key, &ev.Properties, globalAPI, apis)
		if err != nil {
			return Function{}, fmt.Errorf("event %s: %w", e.key, err)
		}
		fn.Routes = append(fn.Routes, r)
	}
	return fn, nil
}

func route(name string, props *yaml.Node, globalAPI apiProps, apis map[string]apiProps) (Route, error) {
	var ev httpAPIEvent
	if err := props.Decode(&ev); err != nil {
		return Route{}, err
	}
	r := Route{Event: name, Method: strings.ToUpper(ev.Method), Path: ev.Path}
	if r.Method == "" {
		r.Method = "ANY"
	}
	if r.Path == "" {
		r.Path = "$default"
	}
	def := globalAPI.Auth.DefaultAuthorizer
	if ev.APIID != nil {
		ref, ok := ev.APIID.Ref()
		if !ok {
			return Route{}, fmt.Errorf("ApiId: %s: want !Ref to an AWS::Serverless::HttpApi: %w", ev.APIID, ErrUnresolved)
		}
		api, ok := apis[ref]
		if !ok {
			return Route{}, fmt.Errorf("ApiId: %s is not an AWS::Serverless::HttpApi of this template", ref)
		}
		r.API = ref
		if a := api.Auth.DefaultAuthorizer; a != "" {
			def = a
		}
	}
	authorizer := ev.Auth.Authorizer
	if authorizer == "" {
		authorizer = def
	}
	r.IAM = authorizer == "AWS_IAM"
	return r, nil
}

// wholeNumber is literal for a number; 0 when neither sets it.
func wholeNumber(name string, own, global *Value) (int, error) {
	v, err := literal(name, own, global)
	if err != nil || v == "" {
		return 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a whole number", name, v)
	}
	return n, nil
}

// literal returns the function's own value, or else the global one, which must be a literal.
func literal(name string, own, global *Value) (string, error) {
	v := own
	if v == nil {
		v = global
	}
	if v == nil {
		return "", nil
	}
	if v.Fn != "" {
		return "", fmt.Errorf("%s: %s: %w", name, v, ErrUnresolved)
	}
	return v.Text, nil
}
