package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/openfc/openfc/internal/fc"
)

// CheckJWKS parses the keys of a jwt trigger, as the management API does
// on create and update after fc.ValidateTrigger: other triggers pass.
func CheckJWKS(t *fc.Trigger) error {
	c := t.TriggerConfig
	if c == nil || c.AuthType != fc.AuthJWT || c.AuthConfig == nil {
		return nil
	}
	_, err := ParseJWKS(c.AuthConfig.JWKS)
	return err
}

// invalid is the 400 a key set that cannot be used gets.
func invalid(format string, a ...any) error { return fc.Errorf(fc.CodeInvalidArgument, format, a...) }

// ParseJWKS parses a key set. Every key must be usable to verify a
// signature (go-jose's JWK parser and validity check), hold no private
// key material (oct keys, which are shared secrets, excepted), have use
// "sig" if any, and an "alg", if any, that fits its type. Key IDs (kid)
// are unique, and at most one key has none (FC's rule): a token without
// a kid is verified with that key.
func ParseJWKS(s fc.JWKS) ([]jose.JSONWebKey, error) {
	const field = fc.JWKSField
	if len(s.Keys) == 0 {
		return nil, invalid("%s is required: give at least one JSON Web Key", field)
	}
	keys := make([]jose.JSONWebKey, len(s.Keys))
	kids := make(map[string]int, len(s.Keys))
	for i, raw := range s.Keys {
		k := &keys[i]
		if err := k.UnmarshalJSON(raw); err != nil {
			return nil, invalid("%s[%d] is not a usable JSON Web Key: %s", field, i, joseMessage(err))
		}
		if _, sym := k.Key.([]byte); !sym && (!k.IsPublic() || !k.Valid()) {
			return nil, invalid("%s[%d] must be a public key: a JWKS holds no private key material", field, i)
		}
		if b, sym := k.Key.([]byte); sym && len(b) == 0 {
			return nil, invalid("%s[%d] is an oct key with an empty k", field, i)
		}
		if len(typeAlgorithms(k.Key)) == 0 {
			return nil, invalid("%s[%d] is not a signature key openfc verifies: use an RSA, EC (P-256, P-384, P-521), OKP (Ed25519) or oct key", field, i)
		}
		if k.Use != "" && k.Use != "sig" {
			return nil, invalid("%s[%d].use %q is invalid: keys verify signatures (use \"sig\")", field, i, k.Use)
		}
		if k.Algorithm != "" && len(KeyAlgorithms(k)) == 0 {
			return nil, invalid("%s[%d].alg %q is not a signature algorithm for this key: use one of %s", field, i, k.Algorithm, algNames(typeAlgorithms(k.Key)))
		}
		if j, dup := kids[k.KeyID]; dup {
			if k.KeyID == "" {
				return nil, invalid("%s[%d] has no kid, and neither has %s[%d]: at most one key may go without a kid", field, i, field, j)
			}
			return nil, invalid("%s[%d].kid %q is also the kid of %s[%d]: kids must be unique", field, i, k.KeyID, field, j)
		}
		kids[k.KeyID] = i
	}
	return keys, nil
}

// KeyAlgorithms returns the signature algorithms a token verified with k
// may use: those of its type (RSA: RS and PS; EC: the ES of its curve;
// Ed25519: EdDSA; oct: HS), narrowed to its "alg" when it has one. A
// token whose algorithm is not among them is refused, whatever its
// signature: an HS token is never checked against an RSA key's bytes.
func KeyAlgorithms(k *jose.JSONWebKey) []jose.SignatureAlgorithm {
	all := typeAlgorithms(k.Key)
	if k.Algorithm == "" {
		return all
	}
	for _, a := range all {
		if string(a) == k.Algorithm {
			return []jose.SignatureAlgorithm{a}
		}
	}
	return nil
}

// JWTAlgorithms are every signature algorithm openfc verifies.
func JWTAlgorithms() []jose.SignatureAlgorithm {
	return []jose.SignatureAlgorithm{
		jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
		jose.ES256, jose.ES384, jose.ES512, jose.EdDSA, jose.HS256, jose.HS384, jose.HS512,
	}
}

// typeAlgorithms are the algorithms of a key's type.
func typeAlgorithms(key any) []jose.SignatureAlgorithm {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return []jose.SignatureAlgorithm{jose.ES256}
		case elliptic.P384():
			return []jose.SignatureAlgorithm{jose.ES384}
		case elliptic.P521():
			return []jose.SignatureAlgorithm{jose.ES512}
		}
	case ed25519.PublicKey:
		return []jose.SignatureAlgorithm{jose.EdDSA}
	case []byte:
		return []jose.SignatureAlgorithm{jose.HS256, jose.HS384, jose.HS512}
	}
	return nil
}
