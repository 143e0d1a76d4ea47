// ext-authz-client calls envoy.service.auth.v3.Authorization/Check once, with the client Envoy's
// go-control-plane generates from Envoy's published protos, and prints the CheckResponse as JSON
// (protojson). The verifier's tests use it to prove the gRPC ext_authz server speaks Envoy's wire
// format, not only its own idea of it.
//
//	ext-authz-client -addr 127.0.0.1:9191 -method GET -path /api/v0/items -header authorization='Bearer …'
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
)

type headers map[string]string

func (h headers) String() string { return fmt.Sprint(map[string]string(h)) }
func (h headers) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("-header wants NAME=VALUE, not %q", v)
	}
	h[strings.ToLower(k)] = val
	return nil
}

func main() {
	addr := flag.String("addr", "", "host:port of the ext_authz server")
	method := flag.String("method", "GET", "the original request's method")
	path := flag.String("path", "/", "the original request's path and query")
	h := headers{}
	flag.Var(h, "header", "NAME=VALUE, repeatable")
	flag.Parse()

	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := authv3.NewAuthorizationClient(conn).Check(ctx, &authv3.CheckRequest{
		Attributes: &authv3.AttributeContext{
			Request: &authv3.AttributeContext_Request{
				Http: &authv3.AttributeContext_HttpRequest{Method: *method, Path: *path, Headers: h},
			},
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(protojson.Format(res))
}
