package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Access key secrets are kept sealed, not hashed: an FC signature is an
// HMAC keyed with the secret, so verifying one needs the secret itself.
// They are sealed with AES-256-GCM under a key derived (HKDF-SHA256) from
// the admin secret. Every node of a cluster shares the admin key, so every
// node can open them, while the store alone (a copy of the JetStream data,
// a NATS user allowed to read the bucket) reveals none.

// sealInfo is the HKDF info: it binds the derived key to this one use of
// the admin secret, and its version to the sealed format below.
const sealInfo = "openfc access key secrets v1"

// sealVersion is the first byte of a sealed secret: version, nonce,
// ciphertext with its tag.
const sealVersion byte = 1

// errUnseal is why a sealed secret does not open: it was sealed under
// another admin secret, for another key ID, or it is damaged. GCM cannot
// tell these apart, and neither can the error.
var errUnseal = errors.New("the sealed secret does not open with this admin key (was the admin key changed?)")

// sealer seals and opens access key secrets.
type sealer struct{ aead cipher.AEAD }

// newSealer derives the sealing key from the admin secret.
func newSealer(adminSecret string) (*sealer, error) {
	if adminSecret == "" {
		return nil, errors.New("auth: sealing access keys needs the admin secret")
	}
	key, err := hkdf.Key(sha256.New, []byte(adminSecret), nil, sealInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("auth: deriving the access key sealing key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("auth: access key sealing cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("auth: access key sealing cipher: %w", err)
	}
	return &sealer{aead: aead}, nil
}

// seal encrypts secret with a random nonce. The key ID is the additional
// data, so a sealed secret moved onto another key's record does not open.
func (s *sealer) seal(id, secret string) ([]byte, error) {
	ns := s.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(secret)+s.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("auth: sealing access key %s: %w", id, err)
	}
	return s.aead.Seal(out, out[1:], []byte(secret), []byte(id)), nil
}

// open decrypts what seal made for id.
func (s *sealer) open(id string, sealed []byte) (string, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns+s.aead.Overhead() || sealed[0] != sealVersion {
		return "", errUnseal
	}
	plain, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], []byte(id))
	if err != nil {
		return "", errUnseal
	}
	return string(plain), nil
}
