package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"wechatqr/shared/accounts"
	"wechatqr/shared/qr"
	"wechatqr/shared/wechat"
)

// Grants is what guarding an authorizer's WeChat calls reads and notes (an
// *accounts.Registry).
type Grants interface {
	Get(ctx context.Context, appID string) (accounts.Account, error)
	MarkPermissionMissing(ctx context.Context, appID string, set int) error
}

// Guard returns next for account appID, checked before each call as
// Account.MayCall says: a call the account has not granted (or a revoked
// authorizer's) is refused before WeChat is asked; WeChat's own refusal of a
// permission set (61007) is noted on the account, so the next call is refused
// here and the console shows what is missing. The account is read at each
// call, one GetItem: codes are made seldom, and a re-authorization that grants
// the set is seen at once.
func Guard(next WeChat, appID string, g Grants) WeChat {
	return guarded{next: next, appID: appID, grants: g}
}

type guarded struct {
	next   WeChat
	appID  string
	grants Grants
}

const pathQRCodeCreate = "/cgi-bin/qrcode/create"

func (g guarded) CreateQRCode(ctx context.Context, accessToken string, req wechat.QRCodeRequest) (wechat.QRCode, error) {
	a, err := g.grants.Get(ctx, g.appID)
	if err != nil {
		return wechat.QRCode{}, err
	}
	if err := a.MayCall(pathQRCodeCreate); err != nil {
		return wechat.QRCode{}, err
	}
	code, err := g.next.CreateQRCode(ctx, accessToken, req)
	if wechat.IsPermissionMissing(err) {
		if sets := wechat.PermissionsFor(pathQRCodeCreate); len(sets) > 0 {
			if merr := g.grants.MarkPermissionMissing(ctx, g.appID, int(sets[0])); merr != nil {
				return code, merr
			}
			a.MissingPermissions = append(a.MissingPermissions, int(sets[0]))
		}
		if merr := a.MayCall(pathQRCodeCreate); merr != nil {
			return code, merr
		}
	}
	return code, err
}

// Platform is the stack's third-party platform, as the API starts and
// completes authorizations (a *platform.Service).
type Platform interface {
	StartAuthorization(ctx context.Context, redirectURI string) (url, mobileURL string, expires time.Time, err error)
	Complete(ctx context.Context, code string) (accounts.Account, error)
}

// ReturnPath is the console's page WeChat sends the administrator back to
// after an authorization, when the request names no redirect_uri.
const ReturnPath = "/console/platform/return"

// startAuthorization answers POST /platform/authorizations: the pages where an
// administrator authorizes the platform, with a fresh pre-auth code.
func (rt *Router) startAuthorization(w http.ResponseWriter, r *http.Request) {
	var in struct {
		RedirectURI string `json:"redirect_uri"`
	}
	if !rt.platformRequest(w, r, &in) {
		return
	}
	redirect := in.RedirectURI
	if redirect == "" {
		redirect = "https://" + r.Host + ReturnPath
	} else if u, err := url.Parse(redirect); err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		rt.def.fail(w, r, qr.Errorf(qr.EInvalid, "redirect_uri must be an absolute http(s) URL on the platform's authorized redirect domain"))
		return
	}
	page, mobile, expires, err := rt.platform.StartAuthorization(r.Context(), redirect)
	if err != nil {
		rt.def.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		URL       string    `json:"url"`
		MobileURL string    `json:"mobile_url"`
		ExpiresAt time.Time `json:"expires_at"`
	}{page, mobile, expires})
}

// completeAuthorization answers POST /platform/authorizations/complete: the
// account the redirect's auth_code authorizes, made now or by the push of the
// same authorization.
func (rt *Router) completeAuthorization(w http.ResponseWriter, r *http.Request) {
	var in struct {
		AuthCode string `json:"auth_code"`
	}
	if !rt.platformRequest(w, r, &in) {
		return
	}
	a, err := rt.platform.Complete(r.Context(), in.AuthCode)
	if err != nil {
		rt.def.fail(w, r, err)
		return
	}
	rt.forget(a.AppID)
	rt.def.audit(r, "authorize account", slog.String("appid", a.AppID), slog.Any("permissions", a.Permissions))
	writeJSON(w, http.StatusCreated, a)
}

// platformRequest checks that the caller may connect accounts (an
// administrator) and that the stack is a platform, and decodes the body into
// in; it answers the failure and returns false otherwise.
func (rt *Router) platformRequest(w http.ResponseWriter, r *http.Request, in any) bool {
	err := rt.manager(r)
	if err == nil && rt.platform == nil {
		err = qr.Errorf(qr.EInvalid, "this stack is not a third-party platform: deploy it with ComponentAppId set (docs/platform.md)")
	}
	if err == nil {
		err = rt.def.decode(w, r, in)
	}
	if err != nil {
		rt.def.fail(w, r, err)
		return false
	}
	return true
}
