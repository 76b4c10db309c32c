package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// keys holds the one key derived from SESSION_SECRET with HKDF: it seals
// (AES-256-GCM) what the browser or the session store keeps for a while,
// each seal bound to its use, so that no token or sign-in secret sits
// anywhere in clear:
//
//   - the sign-in under way (state, nonce, PKCE verifier), in its cookie;
//   - the id_token kept as the id_token_hint for the provider's end-session
//     endpoint, bound to the user id.
//
// Changing SESSION_SECRET fails the sign-ins under way (they start again)
// and drops the stored hints (sign-out then asks the provider to confirm);
// sessions themselves survive.
type keys struct {
	seal cipher.AEAD
}

func deriveKeys(secret string) (keys, error) {
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
	return keys{seal: aead}, nil
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
