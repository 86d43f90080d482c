package httpapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// selfSignedCert writes a self-signed ECDSA P-256 certificate for 127.0.0.1
// and its key as PEM files and returns their paths and a pool trusting it.
func selfSignedCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "gigvault test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, pool
}

func TestTLSConfig(t *testing.T) {
	certFile, keyFile, _ := selfSignedCert(t)
	cfg, err := TLSConfig(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %#x, want TLS 1.2", cfg.MinVersion)
	}
	if len(cfg.Certificates) != 1 {
		t.Errorf("%d certificates, want 1", len(cfg.Certificates))
	}
	if len(cfg.CipherSuites) == 0 {
		t.Fatal("no cipher suites configured: Go's TLS 1.2 defaults would apply")
	}
	var insecure []uint16
	for _, cs := range tls.InsecureCipherSuites() {
		insecure = append(insecure, cs.ID)
	}
	for _, id := range cfg.CipherSuites {
		name := tls.CipherSuiteName(id)
		if slices.Contains(insecure, id) {
			t.Errorf("insecure cipher suite %s", name)
		}
		if !strings.HasPrefix(name, "TLS_ECDHE_") {
			t.Errorf("cipher suite %s lacks forward secrecy", name)
		}
		if !strings.Contains(name, "_GCM_SHA") && !strings.Contains(name, "_CHACHA20_POLY1305_SHA256") {
			t.Errorf("cipher suite %s is not AEAD with SHA-256 or better", name)
		}
	}
}

func TestTLSConfigErrors(t *testing.T) {
	certFile, keyFile, _ := selfSignedCert(t)
	otherCert, _, _ := selfSignedCert(t)
	for _, tc := range []struct{ name, cert, key string }{
		{"missing cert", filepath.Join(t.TempDir(), "nope.pem"), keyFile},
		{"missing key", certFile, filepath.Join(t.TempDir(), "nope.pem")},
		{"key does not match cert", otherCert, keyFile},
		{"cert and key swapped", keyFile, certFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := TLSConfig(tc.cert, tc.key)
			if err == nil || cfg != nil {
				t.Fatalf("TLSConfig = %v, %v; want an error", cfg, err)
			}
			if !strings.HasPrefix(err.Error(), "httpapi: load TLS certificate") {
				t.Errorf("error %q lacks context", err)
			}
		})
	}
}

func TestRunTLS(t *testing.T) {
	certFile, keyFile, pool := selfSignedCert(t)
	cfg, err := TLSConfig(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln := listenLocal(t)
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	runc := make(chan error, 1)
	go func() { runc <- Run(ctx, testServer(New(Deps{}).Handler()), ln, 5*time.Second, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := wait(t, runc, "Run to return"); err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	})

	t.Run("handshake refused", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			cfg     *tls.Config
			wantErr string
		}{
			{"TLS 1.0", &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10}, "protocol version"},
			{"TLS 1.1", &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, "protocol version"},
			{"TLS 1.2 CBC only", &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
				CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}}, "handshake failure"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.cfg.RootCAs = pool
				conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, tc.cfg)
				if err == nil {
					v := conn.ConnectionState().Version
					conn.Close()
					t.Fatalf("handshake succeeded with %s", tls.VersionName(v))
				}
				// The refusal must come from the server (an alert), not from
				// the client declining its own configuration.
				if !strings.Contains(err.Error(), "remote error") || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("handshake error = %v, want a remote %q alert", err, tc.wantErr)
				}
			})
		}
	})

	t.Run("handshake accepted", func(t *testing.T) {
		for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			t.Run(tls.VersionName(version), func(t *testing.T) {
				tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: version, MaxVersion: version}}
				defer tr.CloseIdleConnections()
				resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + addr + "/healthz")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("status = %d, want 200", resp.StatusCode)
				}
				if resp.TLS == nil || resp.TLS.Version != version {
					t.Fatalf("negotiated %v, want %s", resp.TLS, tls.VersionName(version))
				}
				if version == tls.VersionTLS12 && !slices.Contains(cfg.CipherSuites, resp.TLS.CipherSuite) {
					t.Errorf("negotiated cipher suite %s not in the configured list", tls.CipherSuiteName(resp.TLS.CipherSuite))
				}
				checkSecurityHeaders(t, resp.Header, true)
			})
		}
	})

	t.Run("plain HTTP refused without HSTS", func(t *testing.T) {
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		// net/http answers a plain request on a TLS connection with a bare
		// 400 before any handler runs.
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP on the TLS listener: status %d, want 400", resp.StatusCode)
		}
		if resp.Header.Get("Strict-Transport-Security") != "" {
			t.Error("HSTS header on a plain HTTP response")
		}
	})
}
