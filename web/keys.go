package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// keys are derived from SESSION_SECRET with HKDF, one per use, so that
// neither can be turned against the other:
//
//   - csrfKey keys an HMAC of the session token. The result is the page's
//     CSRF token: nothing extra is stored, it changes whenever the session
//     token does (sign-in), and a copy of the session table (which holds only
//     token hashes) is not enough to forge it.
//   - sealKey seals (AES-256-GCM) the id_token kept as the id_token_hint for
//     the provider's end-session endpoint, so no token sits in the session
//     store in clear.
//
// Changing SESSION_SECRET makes open pages reload for a new CSRF token and
// drops the stored hints (sign-out then asks the provider to confirm);
// sessions themselves survive.
type keys struct {
	csrfKey []byte
	seal    cipher.AEAD
}

func deriveKeys(secret string) (keys, error) {
	csrfKey, err := hkdf.Key(sha256.New, []byte(secret), nil, "agenda web csrf v1", 32)
	if err != nil {
		return keys{}, fmt.Errorf("web: derive csrf key: %w", err)
	}
	sealKey, err := hkdf.Key(sha256.New, []byte(secret), nil, "agenda web seal v1", 32)
	if err != nil {
		return keys{}, fmt.Errorf("web: derive seal key: %w", err)
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return keys{}, fmt.Errorf("web: seal key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return keys{}, fmt.Errorf("web: seal key: %w", err)
	}
	return keys{csrfKey: csrfKey, seal: aead}, nil
}

// csrf returns the CSRF token of the session with the given token.
func (k keys) csrf(sessionToken string) string {
	m := hmac.New(sha256.New, k.csrfKey)
	m.Write([]byte(sessionToken))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validCSRF compares in constant time.
func (k keys) validCSRF(sessionToken, got string) bool {
	return hmac.Equal([]byte(k.csrf(sessionToken)), []byte(got))
}

// sealString encrypts s, bound to context (the user id) so a sealed value
// cannot be moved to another user's session.
func (k keys) sealString(s, context string) string {
	nonce := make([]byte, k.seal.NonceSize())
	rand.Read(nonce) // never fails (crypto/rand, Go 1.24+)
	out := k.seal.Seal(nonce, nonce, []byte(s), []byte(context))
	return base64.RawURLEncoding.EncodeToString(out)
}

func (k keys) openString(sealed, context string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(b) < k.seal.NonceSize() {
		return "", errors.New("web: malformed sealed value")
	}
	n := k.seal.NonceSize()
	plain, err := k.seal.Open(nil, b[:n], b[n:], []byte(context))
	if err != nil {
		return "", fmt.Errorf("web: open sealed value: %w", err)
	}
	return string(plain), nil
}
