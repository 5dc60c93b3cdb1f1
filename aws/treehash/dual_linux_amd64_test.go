//go:build !purego

package treehash

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestBlockDualSHANI checks the CPU detection against the kernel's flags,
// and, where the CPU has the SHA extensions, the assembly against
// blockDualGeneric over random blocks and states.
func TestBlockDualSHANI(t *testing.T) {
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Fatal(err)
	}
	var flags []string
	for line := range strings.Lines(string(info)) {
		if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "flags" {
			flags = strings.Fields(value)
			break
		}
	}
	if len(flags) == 0 {
		t.Fatal("/proc/cpuinfo has no flags line")
	}
	has := slices.Contains(flags, "sha_ni") && slices.Contains(flags, "ssse3") && slices.Contains(flags, "sse4_1")
	if useDual != has {
		t.Fatalf("useDual = %v, but /proc/cpuinfo says sha_ni, ssse3 and sse4_1: %v", useDual, has)
	}
	if !useDual {
		t.Log("no SHA extensions on this CPU: the detection is checked, the assembly cannot run")
		return
	}
	data := randomBytes(64*101, 11)
	for n := 0; n <= 100; n++ {
		a1, b1 := iv, iv
		a1[n%8] += uint32(n) // states other than the initial one too
		a2, b2 := a1, b1
		blockDualSHANI(&a1, &b1, data[:64*n+n%64]) // a partial block is left alone
		blockDualGeneric(&a2, &b2, data[:64*n+n%64])
		if a1 != a2 || b1 != b2 {
			t.Fatalf("%d blocks: the assembly gives %x %x, Go %x %x", n, a1, b1, a2, b2)
		}
	}
}
