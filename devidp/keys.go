package devidp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"

	jose "github.com/go-jose/go-jose/v4"
)

// signingAlg is Logto's default: ES384 on an EC P-384 key.
const signingAlg = "ES384"

// keyring holds the signing keys; the last one signs, all are published.
type keyring struct {
	mu   sync.RWMutex
	keys []signingKey
}

// signingKey implements op.SigningKey.
type signingKey struct {
	id   string
	priv *ecdsa.PrivateKey
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return signingAlg }
func (k signingKey) Key() any                                    { return k.priv }
func (k signingKey) ID() string                                  { return k.id }

// publicKey implements op.Key, for the JWKS.
type publicKey struct{ signingKey }

func (k publicKey) Algorithm() jose.SignatureAlgorithm { return signingAlg }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return &k.priv.PublicKey }

func newKeyring() (*keyring, error) {
	k := &keyring{}
	return k, k.rotate()
}

func (k *keyring) rotate() error {
	priv, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return fmt.Errorf("devidp: generate key: %w", err)
	}
	thumb, err := (&jose.JSONWebKey{Key: &priv.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return fmt.Errorf("devidp: key id: %w", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys = append(k.keys, signingKey{id: base64.RawURLEncoding.EncodeToString(thumb), priv: priv})
	return nil
}

func (k *keyring) current() signingKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.keys[len(k.keys)-1]
}

func (k *keyring) public() []publicKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	pub := make([]publicKey, len(k.keys))
	for i, key := range k.keys {
		pub[i] = publicKey{key}
	}
	return pub
}

// sign makes a JWT access token of claims, typed at+jwt (RFC 9068) as
// Logto's are.
func (k *keyring) sign(claims any) (string, error) {
	key := k.current()
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: signingAlg, Key: jose.JSONWebKey{Key: key.priv, KeyID: key.id}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		return "", fmt.Errorf("devidp: signer: %w", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("devidp: claims: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("devidp: sign: %w", err)
	}
	return jws.CompactSerialize()
}
