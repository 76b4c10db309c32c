package auth

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/agenda-gpt/agenda"
)

// userinfo asks the provider who an opaque token belongs to. 401 or 403 from
// the provider means the token is not (or no longer) valid; anything else
// that is not a usable answer means the provider is unavailable.
func (a *Authenticator) userinfo(ctx context.Context, endpoint, token string) (agenda.Identity, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return agenda.Identity{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := a.cfg.HTTPClient.Do(req)
	if err != nil {
		a.cfg.Logger.Warn("userinfo request failed", "err", redactURLError(err))
		return agenda.Identity{}, agenda.Errorf(agenda.EUNAVAILABLE, "the identity provider cannot be reached; try again shortly")
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return agenda.Identity{}, agenda.Errorf(agenda.EUNAUTHORIZED,
			"the identity provider does not accept this access token (unknown, revoked or expired); refresh it or sign in again")
	case resp.StatusCode != http.StatusOK || err != nil:
		a.cfg.Logger.Warn("userinfo answered with an error", "status", resp.StatusCode)
		return agenda.Identity{}, agenda.Errorf(agenda.EUNAVAILABLE, "the identity provider answered with an error; try again shortly")
	}
	var claims struct {
		Sub      string `json:"sub"`
		Name     string `json:"name"`
		Username string `json:"username"`
	}
	if err := json.Unmarshal(body, &claims); err != nil {
		a.cfg.Logger.Warn("userinfo answered with malformed JSON")
		return agenda.Identity{}, agenda.Errorf(agenda.EUNAVAILABLE, "the identity provider answered with malformed data; try again shortly")
	}
	if claims.Sub == "" {
		return agenda.Identity{}, agenda.Errorf(agenda.EUNAUTHORIZED, "the identity provider named no user (no sub) for this access token; sign in again")
	}
	name := claims.Name
	if name == "" {
		name = claims.Username
	}
	return agenda.Identity{UserID: claims.Sub, Name: name}, nil
}

// redactURLError keeps the cause of a failed request without its URL, which
// is harmless here but keeps log lines short and uniform.
func redactURLError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && ue.Unwrap() != nil {
		return ue.Unwrap()
	}
	return err
}
