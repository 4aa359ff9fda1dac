package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/openfc/openfc/internal/fc"
)

func mustJWK(t *testing.T, key any, kid, alg string) string {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: alg})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// jwtTrigger is a jwt trigger whose triggerConfig JSON has authConfig ac.
// It is checked as the management API checks it: fc's rules, then the
// keys.
func jwtTrigger(t *testing.T, ac string) (*fc.Trigger, error) {
	t.Helper()
	var tr fc.Trigger
	err := json.Unmarshal([]byte(`{"triggerName":"t","triggerType":"http","triggerConfig":{"authType":"jwt","methods":["GET"],"authConfig":`+ac+`}}`), &tr)
	if err != nil {
		return nil, err
	}
	if err := fc.ValidateTrigger(&tr); err != nil {
		return &tr, err
	}
	return &tr, CheckJWKS(&tr)
}

// TestJWTAuthConfigValidation: a good config passes in both forms (an
// object and FC 3.0's string), and each mistake is a 400 naming the
// field.
func TestJWTAuthConfigValidation(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaPub := mustJWK(t, &rsaKey.PublicKey, "r", "")
	ecPub := mustJWK(t, &ecKey.PublicKey, "e", "")
	oct := `{"kty":"oct","kid":"h","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"}`
	lookup := `"tokenLookup":[{"readPosition":"header","parameterName":"Authorization","prefix":"Bearer "}]`
	good := `{"jwks":{"keys":[` + rsaPub + `,` + ecPub + `,` + oct + `]},` + lookup +
		`,"claimPassBy":[{"claimName":"uid","mappingParameterName":"x-uid","mappingParameterPosition":"HEADER"}],"whitelist":["/public/*","*","/login"]}`

	t.Run("object", func(t *testing.T) {
		tr, err := jwtTrigger(t, good)
		if err != nil {
			t.Fatal(err)
		}
		ac := tr.TriggerConfig.AuthConfig
		if len(ac.JWKS.Keys) != 3 || ac.ClaimPassBy[0].MappingParameterPosition != "header" {
			t.Errorf("config = %+v", ac)
		}
		// Stored and shown as given: the keys' JSON is kept.
		out, _ := json.Marshal(tr.TriggerConfig)
		if !strings.Contains(string(out), rsaPub) {
			t.Errorf("the JWKS changed on the way through: %s", out)
		}
	})
	t.Run("string", func(t *testing.T) {
		s, _ := json.Marshal(good)
		tr, err := jwtTrigger(t, string(s))
		if err != nil {
			t.Fatal(err)
		}
		if tr.TriggerConfig.AuthConfig == nil || len(tr.TriggerConfig.AuthConfig.TokenLookup) != 1 {
			t.Errorf("config = %+v", tr.TriggerConfig.AuthConfig)
		}
	})

	priv, _ := json.Marshal(jose.JSONWebKey{Key: rsaKey, KeyID: "p"})
	withKeys := func(keys ...string) string {
		return `{"jwks":{"keys":[` + strings.Join(keys, ",") + `]},` + lookup + `}`
	}
	for _, tc := range []struct {
		name, ac, msg string
	}{
		{"missing", `null`, `triggerConfig.authConfig is required when triggerConfig.authType is "jwt"`},
		{"no keys", `{"jwks":{"keys":[]},` + lookup + `}`, "triggerConfig.authConfig.jwks.keys is required"},
		{"no jwks", `{` + lookup + `}`, "triggerConfig.authConfig.jwks.keys is required"},
		{"bad key", withKeys(`{"kty":"RSA","kid":"x","n":"AQAB"}`), "triggerConfig.authConfig.jwks.keys[0] is not a usable JSON Web Key"},
		{"unknown kty", withKeys(`{"kty":"XYZ","kid":"x"}`), "triggerConfig.authConfig.jwks.keys[0] is not a usable JSON Web Key"},
		{"private key", withKeys(string(priv)), "triggerConfig.authConfig.jwks.keys[0] must be a public key"},
		{"use enc", withKeys(`{"kty":"oct","kid":"h","use":"enc","k":"c2VjcmV0"}`), `triggerConfig.authConfig.jwks.keys[0].use "enc" is invalid`},
		{"alg of another type", withKeys(mustJWK(t, &rsaKey.PublicKey, "r", "ES256")), `triggerConfig.authConfig.jwks.keys[0].alg "ES256" is not a signature algorithm for this key: use one of RS256`},
		{"alg none", withKeys(`{"kty":"oct","kid":"h","alg":"none","k":"c2VjcmV0"}`), `triggerConfig.authConfig.jwks.keys[0].alg "none" is not a signature algorithm`},
		{"duplicate kid", withKeys(rsaPub, mustJWK(t, &ecKey.PublicKey, "r", "")), `triggerConfig.authConfig.jwks.keys[1].kid "r" is also the kid of triggerConfig.authConfig.jwks.keys[0]`},
		{"two without kid", withKeys(mustJWK(t, &rsaKey.PublicKey, "", ""), mustJWK(t, &ecKey.PublicKey, "", "")), "triggerConfig.authConfig.jwks.keys[1] has no kid, and neither has triggerConfig.authConfig.jwks.keys[0]: at most one key may go without a kid"},
		{"no tokenLookup", `{"jwks":{"keys":[` + oct + `]}}`, "triggerConfig.authConfig.tokenLookup is required"},
		{"bad readPosition", `{"jwks":{"keys":[` + oct + `]},"tokenLookup":[{"readPosition":"header","parameterName":"A"},{"readPosition":"body","parameterName":"t"}]}`,
			`triggerConfig.authConfig.tokenLookup[1].readPosition "body" is invalid: use header, query, cookie or form`},
		{"no parameterName", `{"jwks":{"keys":[` + oct + `]},"tokenLookup":[{"readPosition":"query"}]}`, "triggerConfig.authConfig.tokenLookup[0].parameterName is required"},
		{"bad header name", `{"jwks":{"keys":[` + oct + `]},"tokenLookup":[{"readPosition":"header","parameterName":"X Token"}]}`, `triggerConfig.authConfig.tokenLookup[0].parameterName "X Token" is not a valid HTTP header name`},
		{"bad pass-by position", `{"jwks":{"keys":[` + oct + `]},` + lookup + `,"claimPassBy":[{"claimName":"a","mappingParameterName":"b","mappingParameterPosition":"query"}]}`,
			`triggerConfig.authConfig.claimPassBy[0].mappingParameterPosition "query" is invalid: use header, cookie or form`},
		{"pass-by to x-fc-", `{"jwks":{"keys":[` + oct + `]},` + lookup + `,"claimPassBy":[{"claimName":"a","mappingParameterName":"X-Fc-Uid","mappingParameterPosition":"header"}]}`,
			`triggerConfig.authConfig.claimPassBy[0].mappingParameterName "X-Fc-Uid" is invalid: x-fc-* headers`},
		{"pass-by to Host", `{"jwks":{"keys":[` + oct + `]},` + lookup + `,"claimPassBy":[{"claimName":"a","mappingParameterName":"host","mappingParameterPosition":"header"}]}`,
			`triggerConfig.authConfig.claimPassBy[0].mappingParameterName "host" is invalid: openfc sets that header itself`},
		{"pass-by without claim", `{"jwks":{"keys":[` + oct + `]},` + lookup + `,"claimPassBy":[{"mappingParameterName":"b","mappingParameterPosition":"header"}]}`,
			"triggerConfig.authConfig.claimPassBy[0].claimName is required"},
		{"both lists", `{"jwks":{"keys":[` + oct + `]},` + lookup + `,"whitelist":["/a"],"blacklist":["/b"]}`, "whitelist and triggerConfig.authConfig.blacklist are mutually exclusive"},
		{"relative path", `{"jwks":{"keys":[` + oct + `]},` + lookup + `,"blacklist":["/a","admin"]}`, `triggerConfig.authConfig.blacklist[1] "admin" is invalid: a path must start with '/'`},
		{"inner star", `{"jwks":{"keys":[` + oct + `]},` + lookup + `,"whitelist":["/a/*/b"]}`, `triggerConfig.authConfig.whitelist[0] "/a/*/b" is invalid: '*' may only end a path`},
		{"unknown field", `{"jwks":{"keys":[` + oct + `]},"tokenLookups":[]}`, `triggerConfig.authConfig has an unknown field "tokenLookups"`},
		{"wrong type", `{"jwks":{"keys":[` + oct + `]},"tokenLookup":{}}`, "triggerConfig.authConfig.tokenLookup: expected an array, got JSON object"},
		{"a number", `7`, "triggerConfig.authConfig: expected an object, got JSON number"},
		{"string not an object", `"[1]"`, "triggerConfig.authConfig is a string that does not hold a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := jwtTrigger(t, tc.ac)
			fe, ok := err.(*fc.Error)
			if !ok || fe.Code != fc.CodeInvalidArgument {
				t.Fatalf("err = %v; want InvalidArgument", err)
			}
			if !strings.Contains(fe.Message, tc.msg) {
				t.Errorf("message\n%s\ndoes not say\n%s", fe.Message, tc.msg)
			}
		})
	}

	t.Run("other auth types keep authConfig unchecked", func(t *testing.T) {
		var tr fc.Trigger
		_ = json.Unmarshal([]byte(`{"triggerName":"t","triggerType":"http","triggerConfig":{"authType":"anonymous","methods":["GET"],"authConfig":{"jwks":{"keys":[]}}}}`), &tr)
		if err := fc.ValidateTrigger(&tr); err != nil || tr.TriggerConfig.AuthConfig == nil {
			t.Errorf("err = %v, authConfig = %v; want it kept as given", err, tr.TriggerConfig.AuthConfig)
		}
	})
}
