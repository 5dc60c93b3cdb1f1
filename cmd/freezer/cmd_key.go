package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"freezer/control"
)

// KeyCmd manages encryption keys.
type KeyCmd struct {
	Create  KeyCreateCmd  `cmd:"" help:"Make a new random key and print its id (the first key becomes the default)."`
	List    KeyListCmd    `cmd:"" help:"List keys: id, name, algorithm, default (never the key itself)."`
	Export  KeyExportCmd  `cmd:"" help:"Print a key as JSON: keep it safe, archives are useless without it."`
	Import  KeyImportCmd  `cmd:"" help:"Import a key exported as JSON (from a file, or - for stdin)."`
	Default KeyDefaultCmd `cmd:"" help:"Choose the key new archives are encrypted with (none: no encryption)."`
}

// KeyCreateCmd makes a key.
type KeyCreateCmd struct {
	Algorithm string `default:"aes-256-cbc" enum:"aes-256-cbc,aes-192-cbc,aes-128-cbc" help:"Cipher: aes-256-cbc, aes-192-cbc or aes-128-cbc."`
	Name      string `help:"A name to recognise the key by."`
}

// Run creates the key.
func (c *KeyCreateCmd) Run(ctx context.Context, a *app) error {
	e, err := a.localEngine(ctx)
	if err != nil {
		return err
	}
	rep, _, err := a.do(ctx, e, &control.NewKeyRequest{Algorithm: c.Algorithm, Name: c.Name})
	if err != nil {
		return err
	}
	a.say("%s", rep.Message)
	fmt.Fprintln(a.stdout, rep.Fields["key"])
	return nil
}

// KeyListCmd lists keys.
type KeyListCmd struct {
	JSON bool `help:"Print the keys as JSON (never their material; the README documents the shape)."`
}

// Run prints the keys.
func (c *KeyListCmd) Run(ctx context.Context, a *app) error {
	e, err := a.localEngine(ctx)
	if err != nil {
		return err
	}
	ks, err := e.Keys(ctx)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(a.stdout, control.KeysDoc(ks))
	}
	t := newTable(a.stdout, "ID", "ALGORITHM", "DEFAULT", "CREATED", "NAME")
	for _, k := range ks {
		def := ""
		if k.Default {
			def = "yes"
		}
		alg := k.Algorithm
		if k.Legacy {
			alg += " (read only)"
		}
		t.row(k.ID, alg, dash(def), dateTime(k.Created), k.Name)
	}
	return t.flush()
}

// KeyExportCmd prints a key.
type KeyExportCmd struct {
	ID string `arg:"" help:"Key id (see 'freezer key list')."`
}

// Run prints the key's JSON on stdout.
func (c *KeyExportCmd) Run(ctx context.Context, a *app) error {
	e, err := a.localEngine(ctx)
	if err != nil {
		return err
	}
	data, err := e.ExportKey(ctx, c.ID)
	if err != nil {
		return err
	}
	_, err = a.stdout.Write(append(data, '\n'))
	return err
}

// KeyImportCmd imports a key.
type KeyImportCmd struct {
	File string `arg:"" help:"JSON file of an exported key, or - for stdin."`
}

// Run imports the key and prints its id.
func (c *KeyImportCmd) Run(ctx context.Context, a *app) error {
	var data []byte
	var err error
	if c.File == "-" {
		data, err = io.ReadAll(io.LimitReader(a.stdin, 1<<20))
	} else {
		data, err = os.ReadFile(c.File)
	}
	if err != nil {
		return usageErrorf("key import: %v", err)
	}
	e, err := a.localEngine(ctx)
	if err != nil {
		return err
	}
	rep, _, err := a.do(ctx, e, &control.KeyImportRequest{JSON: data})
	if err != nil {
		return err
	}
	a.say("%s", rep.Message)
	fmt.Fprintln(a.stdout, rep.Fields["key"])
	return nil
}

// KeyDefaultCmd sets the default key.
type KeyDefaultCmd struct {
	ID string `arg:"" help:"Key id, or none to stop encrypting new archives."`
}

// Run stores the choice.
func (c *KeyDefaultCmd) Run(ctx context.Context, a *app) error {
	return a.change(ctx, &control.KeyDefaultRequest{ID: c.ID})
}
