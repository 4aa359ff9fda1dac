package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/openfc/openfc/pkg/fcsign"
)

// authGuards are the two guarded functions: "signed" (authType function:
// no credentials → 400, a made-up signature → 403, signed once → 200)
// and "jwt" (an RS256 key: no token → 401, a token of another key → 401,
// a valid token → 200).
func authGuards(s *server) ([]guard, error) {
	signed, err := signedHeaders(s.serviceProxyURL(authService, "signed"))
	if err != nil {
		return nil, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	good, err := benchToken(key)
	if err != nil {
		return nil, err
	}
	forged, err := benchToken(other)
	if err != nil {
		return nil, err
	}
	jwks, err := json.Marshal(map[string]any{"keys": []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "bench", Use: "sig"}}})
	if err != nil {
		return nil, err
	}
	return []guard{{
		fn:          "signed",
		triggerYAML: "            authType: function\n",
		refusals: []authCase{
			{"sig-reject-missing", nil, true},
			{"sig-reject-badsig", []string{"Date: " + time.Now().UTC().Format(http.TimeFormat),
				"Authorization: " + fcsign.AuthorizationValue("benchkey", "bm90LWEtc2lnbmF0dXJl")}, true},
		},
		ok: authCase{"sig-signed-200", signed, false},
	}, {
		fn: "jwt",
		// authConfig as FC 3.0 writes it: a JSON string.
		triggerYAML: fmt.Sprintf("            authType: jwt\n            authConfig: %q\n",
			`{"jwks":`+string(jwks)+`,"tokenLookup":[{"readPosition":"header","parameterName":"Authorization","prefix":"Bearer "}]}`),
		refusals: []authCase{
			{"jwt-reject-missing", nil, true},
			{"jwt-reject-forged", []string{"Authorization: Bearer " + forged}, true},
		},
		ok: authCase{"jwt-valid-200", []string{"Authorization: Bearer " + good}, false},
	}}, nil
}

// benchToken is an RS256 token with kid "bench", valid for an hour.
func benchToken(key *rsa.PrivateKey) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "bench"))
	if err != nil {
		return "", err
	}
	now := time.Now()
	return jwt.Signed(signer).Claims(jwt.Claims{Subject: "bench", IssuedAt: jwt.NewNumericDate(now),
		Expiry: jwt.NewNumericDate(now.Add(time.Hour))}).Serialize()
}

// signedHeaders signs a GET of u with the bench key and returns the
// headers wrk repeats: one signature, good for the 15 minutes FC allows
// a Date to be off.
func signedHeaders(u string) ([]string, error) {
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		return nil, err
	}
	fcsign.Sign(fcsign.Credentials{AccessKeyID: "benchkey", AccessKeySecret: "benchsecret-0123456789"}, req)
	return []string{"Date: " + req.Header.Get("Date"), "Authorization: " + req.Header.Get("Authorization")}, nil
}
