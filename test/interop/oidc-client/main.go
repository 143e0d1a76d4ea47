// The Go client a service uses to verify keyward tokens: go-oidc with strict
// discovery (oidc.NewProvider on the token's iss, then provider.Verifier with
// the tenant as ClientID), and x/oauth2's client credentials flow against the
// token endpoint the discovery document names.
//
//	oidc-client -issuer ISS -audience TENANT -ca CA.pem < token
//	oidc-client -issuer ISS -audience TENANT -ca CA.pem -client-id ID -client-secret SECRET
//
// The token is read from stdin; with -client-id it is fetched with client
// credentials instead. Prints one JSON line: {"ok":true,"subject":...,"issuer":...}
// or {"ok":false,"stage":...,"error":...}.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

type result struct {
	OK      bool   `json:"ok"`
	Stage   string `json:"stage,omitempty"`
	Error   string `json:"error,omitempty"`
	Subject string `json:"subject,omitempty"`
	Issuer  string `json:"issuer,omitempty"`
	Fetched bool   `json:"fetched,omitempty"`
}

func main() {
	issuer := flag.String("issuer", "", "the issuer to discover (the iss of the tenant's tokens)")
	audience := flag.String("audience", "", "the tenant: the aud the token must carry")
	caFile := flag.String("ca", "", "PEM file of the CA the token service's certificate chains to")
	clientID := flag.String("client-id", "", "fetch the token with client credentials as this client")
	clientSecret := flag.String("client-secret", "", "the client's secret")
	flag.Parse()

	emit := func(r result) {
		_ = json.NewEncoder(os.Stdout).Encode(r)
	}
	fail := func(stage string, err error) {
		emit(result{Stage: stage, Error: err.Error()})
		os.Exit(0)
	}

	pem, err := os.ReadFile(*caFile)
	if err != nil {
		fail("ca", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	ctx := oidc.ClientContext(context.Background(), client)
	ctx = context.WithValue(ctx, oauth2.HTTPClient, client)

	provider, err := oidc.NewProvider(ctx, *issuer)
	if err != nil {
		fail("discovery", err)
	}

	var raw string
	fetched := false
	if *clientID != "" {
		cc := clientcredentials.Config{ClientID: *clientID, ClientSecret: *clientSecret, TokenURL: provider.Endpoint().TokenURL, AuthStyle: oauth2.AuthStyleInHeader}
		tok, err := cc.Token(ctx)
		if err != nil {
			fail("token", err)
		}
		raw = tok.AccessToken
		fetched = true
	} else {
		in, err := io.ReadAll(os.Stdin)
		if err != nil {
			fail("stdin", err)
		}
		raw = strings.TrimSpace(string(in))
	}

	verified, err := provider.Verifier(&oidc.Config{ClientID: *audience}).Verify(ctx, raw)
	if err != nil {
		fail("verify", err)
	}
	emit(result{OK: true, Subject: verified.Subject, Issuer: verified.Issuer, Fetched: fetched})
}
