// Package control is freezer's engine: the one place where actions on
// vaults and archives are written, whichever front end (CLI, mount control
// files, GUI helper) asks for them. It also owns the settings table that the
// command line, the config file and the catalog share.
package control
