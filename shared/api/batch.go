package api

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"wechatqr/shared/qr"
)

// Bounds of POST /batches/parse.
const (
	MaxBatchBytes = 4 << 20
	MaxBatchRows  = 5000
)

// BatchColumns are the columns a batch CSV may have, scene required (docs/console.md, "The batch CSV").
var BatchColumns = []string{"scene", "permanent", "expire_seconds", "reply", "tag"}

// BatchRow is one data line of a batch CSV: the create request it stands for
// (the body of POST /qrcodes, checked by the same rules), or why it cannot be one.
type BatchRow struct {
	Line    int             `json:"line"` // 1-based line of the file where the record starts
	Scene   string          `json:"scene,omitempty"`
	Request json.RawMessage `json:"request,omitempty"`
	Error   string          `json:"error,omitempty"`
}

// Batch is a parsed batch CSV.
type Batch struct {
	Rows    []BatchRow `json:"rows"`
	Valid   int        `json:"valid"`
	Invalid int        `json:"invalid"`
}

// ErrBatch is a batch refused as a whole (no header, no scene column, too many rows).
var ErrBatch = errors.New("batch")

// ParseBatch reads a batch CSV (header row; BatchColumns) into create requests.
// A cell of digits without a leading zero is a numeric scene, as a JSON number
// would be; anything else is a string scene. permanent is true/false (also
// 1/0, yes/no; empty is false); empty cells are omitted from the request. A bad
// line is reported with its line number and the rest are still read; a scene
// that occurs twice is refused on its second line. The whole file is refused
// (an error wrapping ErrBatch) only when it has no usable header, is not
// UTF-8, or has more than MaxBatchRows data lines.
func ParseBatch(data []byte) (*Batch, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // Excel's byte order mark
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: the file is not UTF-8 text; in Excel, save it as \"CSV UTF-8\"", ErrBatch)
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1 // counted per line below, to say which line is short
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%w: the file is empty; the first line names the columns (%s)", ErrBatch, strings.Join(BatchColumns, ","))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: the header line: %s", ErrBatch, csvProblem(err))
	}
	col := map[string]int{}
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(name))
		known := false
		for _, c := range BatchColumns {
			known = known || c == name
		}
		switch {
		case !known:
			return nil, fmt.Errorf("%w: unknown column %q in the header; the columns are %s", ErrBatch, name, strings.Join(BatchColumns, ", "))
		case col[name] != 0:
			return nil, fmt.Errorf("%w: the column %q occurs twice in the header", ErrBatch, name)
		}
		col[name] = i + 1 // 0 means absent
	}
	if col["scene"] == 0 {
		return nil, fmt.Errorf("%w: the header has no scene column (the columns are %s)", ErrBatch, strings.Join(BatchColumns, ", "))
	}
	b := &Batch{Rows: []BatchRow{}}
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if len(b.Rows) >= MaxBatchRows {
			return nil, fmt.Errorf("%w: more than %d rows; split the file", ErrBatch, MaxBatchRows)
		}
		var row BatchRow
		if err != nil {
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			row = BatchRow{Line: line, Error: csvProblem(err)}
		} else {
			line, _ := cr.FieldPos(0)
			if blank(rec) {
				continue
			}
			row = batchRow(line, rec, header, col)
			if row.Error == "" {
				if first, dup := seen[row.Scene]; dup {
					row.Request, row.Error = nil, fmt.Sprintf("scene %q is already on line %d", row.Scene, first)
				} else {
					seen[row.Scene] = line
				}
			}
		}
		if row.Error != "" {
			b.Invalid++
		} else {
			b.Valid++
		}
		b.Rows = append(b.Rows, row)
	}
	return b, nil
}

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// batchRow turns one record into a create request and checks it exactly as
// POST /qrcodes would: encoded as its body, decoded strictly, validated.
func batchRow(line int, rec, header []string, col map[string]int) BatchRow {
	row := BatchRow{Line: line}
	if len(rec) != len(header) {
		row.Error = fmt.Sprintf("%d cells where the header has %d", len(rec), len(header))
		return row
	}
	cell := func(name string) string {
		if i := col[name]; i != 0 {
			return rec[i-1]
		}
		return ""
	}
	row.Scene = cell("scene")
	body := map[string]any{}
	if isSceneID(row.Scene) {
		body["scene"] = json.Number(row.Scene)
	} else {
		body["scene"] = row.Scene
	}
	if v := strings.TrimSpace(cell("permanent")); v != "" {
		p, ok := parseBool(v)
		if !ok {
			row.Error = fmt.Sprintf("permanent: %q is not true or false", v)
			return row
		}
		body["permanent"] = p
	}
	if v := strings.TrimSpace(cell("expire_seconds")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			row.Error = fmt.Sprintf("expire_seconds: %q is not a whole number of seconds", v)
			return row
		}
		body["expire_seconds"] = n
	}
	if v := cell("reply"); v != "" {
		body["reply"] = qr.TextReply(v)
	}
	if v := cell("tag"); v != "" {
		body["tag"] = v
	}
	raw, err := json.Marshal(body)
	if err != nil {
		row.Error = "could not be encoded"
		return row
	}
	var req createRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		row.Error = jsonProblem(err)
		return row
	}
	valid, err := validate(req)
	if err != nil {
		var de *qr.Error
		if errors.As(err, &de) {
			row.Error = de.Message
		} else {
			row.Error = err.Error()
		}
		return row
	}
	row.Scene, row.Request = valid.scene, raw
	return row
}

// isSceneID: digits without a leading zero ("007" stays the string it is).
func isSceneID(s string) bool {
	if s == "" || len(s) > 19 || s[0] == '0' {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "1", "yes", "y":
		return true, true
	case "false", "0", "no", "n":
		return false, true
	}
	return false, false
}

// csvProblem says what is wrong with a record in a spreadsheet user's terms.
func csvProblem(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(pe.Err, csv.ErrQuote):
			return fmt.Sprintf("a quoted cell is not closed (column %d)", pe.Column)
		case errors.Is(pe.Err, csv.ErrBareQuote):
			return fmt.Sprintf("a \" inside a cell that is not quoted (column %d); quote the cell and double the \"", pe.Column)
		}
		return pe.Err.Error()
	}
	return err.Error()
}

// parseBatch serves POST /batches/parse: a text/csv body, answered row by row.
// Nothing is created: the console creates the valid rows through POST /qrcodes.
func (h *Handler) parseBatch(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBatchBytes+1))
	if err != nil {
		h.fail(w, r, qr.Errorf(qr.EInvalid, "body: could not be read"))
		return
	}
	if len(body) > MaxBatchBytes {
		h.fail(w, r, &tooLarge{MaxBatchBytes})
		return
	}
	b, err := ParseBatch(body)
	if err != nil {
		h.fail(w, r, qr.Errorf(qr.EInvalid, "%s", strings.TrimPrefix(err.Error(), ErrBatch.Error()+": ")))
		return
	}
	writeJSON(w, http.StatusOK, b)
}
