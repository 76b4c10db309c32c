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

// Keys are a provider's signing keys: the last one signs, all are
// published in the JWKS. A provider makes its own unless Config.Keys gives
// it some; give the same Keys to whatever else must sign tokens this
// provider vouches for (a load generator's crafted claims, tests of expiry
// and audience), or rotate them as Logto does.
type Keys struct {
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

// NewKeys returns a key set with one ES384 key.
func NewKeys() (*Keys, error) {
	k := &Keys{}
	return k, k.Rotate()
}

// Rotate adds a key with a new kid and signs with it from now on. The old
// keys stay in the JWKS, as in Logto after a rotation.
func (k *Keys) Rotate() error {
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

func (k *Keys) current() signingKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.keys[len(k.keys)-1]
}

func (k *Keys) public() []publicKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	pub := make([]publicKey, len(k.keys))
	for i, key := range k.keys {
		pub[i] = publicKey{key}
	}
	return pub
}

// Sign makes a JWT access token of claims, exactly as given, typed at+jwt
// (RFC 9068) as Logto's are, with the current key.
func (k *Keys) Sign(claims any) (string, error) {
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
