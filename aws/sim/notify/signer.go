package notify

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"

	_ "crypto/sha1" // SignatureVersion 1 is SHA1withRSA
)

const (
	certPrefix   = "SimpleNotificationService-"
	keyFileName  = "sns-signing-key.pem"
	certFileName = "sns-signing-cert.pem"
)

// signer signs notifications the way SNS does, with an RSA key made on first
// use and kept in the state directory, so that envelopes can be verified
// against the certificate served at SigningCertURL. The key signs nothing
// else; it is not a secret worth more than the simulator's data.
type signer struct {
	key      *rsa.PrivateKey
	certPEM  []byte
	certName string // SimpleNotificationService-<hex>.pem
}

func (s *Service) getSigner() (*signer, error) {
	s.signerMu.Lock()
	defer s.signerMu.Unlock()
	if s.signer != nil {
		return s.signer, nil
	}
	sg, err := loadOrCreateSigner(s.dir, s.now())
	if err != nil {
		return nil, err
	}
	s.signer = sg
	return sg, nil
}

func loadOrCreateSigner(dir string, now time.Time) (*signer, error) {
	keyPath := filepath.Join(dir, keyFileName)
	certPath := filepath.Join(dir, certFileName)
	var key *rsa.PrivateKey
	keyPEM, err := os.ReadFile(keyPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		key, err = rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("notify: generate SNS signing key: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("notify: encode SNS signing key: %w", err)
		}
		if err := writeFileDurably(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, fmt.Errorf("notify: save SNS signing key: %w", err)
		}
		_ = os.Remove(certPath) // a certificate for an older key is useless
	case err != nil:
		return nil, fmt.Errorf("notify: read SNS signing key: %w", err)
	default:
		block, _ := pem.Decode(keyPEM)
		if block == nil {
			return nil, fmt.Errorf("notify: SNS signing key %s is damaged; delete it (and %s) to make a new one", keyPath, certFileName)
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		rk, ok := k.(*rsa.PrivateKey)
		if err != nil || !ok {
			return nil, fmt.Errorf("notify: SNS signing key %s is damaged; delete it (and %s) to make a new one", keyPath, certFileName)
		}
		key = rk
	}

	certPEM, err := os.ReadFile(certPath)
	if err == nil {
		if block, _ := pem.Decode(certPEM); block != nil {
			if c, err := x509.ParseCertificate(block.Bytes); err == nil && c.PublicKey != nil {
				if pk, ok := c.PublicKey.(*rsa.PublicKey); ok && pk.Equal(&key.PublicKey) {
					return newSigner(key, certPEM, block.Bytes), nil
				}
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("notify: read SNS signing certificate: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: "sns.amazonaws.com", Organization: []string{"freezer simulator"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(20, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("notify: create SNS signing certificate: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := writeFileDurably(certPath, certPEM, 0o600); err != nil {
		return nil, fmt.Errorf("notify: save SNS signing certificate: %w", err)
	}
	return newSigner(key, certPEM, der), nil
}

func newSigner(key *rsa.PrivateKey, certPEM, der []byte) *signer {
	sum := sha256.Sum256(der)
	return &signer{key: key, certPEM: certPEM, certName: certPrefix + hex.EncodeToString(sum[:16]) + ".pem"}
}

// sign returns the base64 signature: SHA1withRSA for SignatureVersion 1,
// SHA256withRSA for 2.
func (sg *signer) sign(version, canonical string) (string, error) {
	h := crypto.SHA1
	if version == "2" {
		h = crypto.SHA256
	}
	d := h.New()
	d.Write([]byte(canonical))
	sig, err := rsa.SignPKCS1v15(nil, sg.key, h, d.Sum(nil))
	if err != nil {
		return "", fmt.Errorf("notify: sign notification: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}
