/*
Copyright 2026 The nuop authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package giteaserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

// TLSFront serves a Server over HTTPS from a port of its own, with a certificate for 127.0.0.1, ::1 and
// localhost signed by a CA made for this front alone: a client that does not trust CAPEM fails
// verification. While the Server is stopped the front answers 502.
type TLSFront struct {
	// URL is https://127.0.0.1:<port>; https://localhost:<port> is valid too.
	URL string
	// CAPEM is the CA certificate in PEM, what a client (or a CA bundle Secret) must trust.
	CAPEM []byte

	srv *http.Server
}

// StartTLSFront starts an HTTPS reverse proxy to the server. Close (of the Server, or of the front)
// stops it.
func (s *Server) StartTLSFront() (*TLSFront, error) {
	caPEM, cert, err := newCertificates()
	if err != nil {
		return nil, err
	}
	target, err := url.Parse(s.URL)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	proxy := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport: s.client.Transport,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, "the TLS front cannot reach gitea: "+err.Error(), http.StatusBadGateway)
		},
	}
	f := &TLSFront{
		URL:   "https://" + ln.Addr().String(),
		CAPEM: caPEM,
		srv: &http.Server{
			Handler:           proxy,
			TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}},
			ReadHeaderTimeout: 30 * time.Second,
			// Failed handshakes are what the TLS tests provoke; logged, they would only be noise.
			ErrorLog: log.New(io.Discard, "", 0),
		},
	}
	go func() { _ = f.srv.ServeTLS(ln, "", "") }()
	s.mu.Lock()
	s.fronts = append(s.fronts, f)
	s.mu.Unlock()
	return f, nil
}

// Close stops the front.
func (f *TLSFront) Close() error { return f.srv.Close() }

// certValidity only needs to outlast a test run or a demo session.
const certValidity = 30 * 24 * time.Hour

func newCertificates() (caPEM []byte, serving tls.Certificate, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, serving, err
	}
	notBefore := time.Now().Add(-time.Hour)
	caTemplate := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "nuop test Gitea CA"},
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(certValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, serving, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, serving, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, serving, err
	}
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:   notBefore,
		NotAfter:    notBefore.Add(certValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, serving, err
	}
	caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return caPEM, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
