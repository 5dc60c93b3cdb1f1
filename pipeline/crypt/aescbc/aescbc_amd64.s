//go:build amd64 && !purego

#include "textflag.h"

// func hasAESNI() bool
TEXT ·hasAESNI(SB), NOSPLIT, $0-1
	MOVL $1, AX
	XORL CX, CX
	CPUID
	SHRL $25, CX
	ANDL $1, CX
	MOVB CX, ret+0(FP)
	RET

// func invertKey(rounds int, enc, dec *byte)
TEXT ·invertKey(SB), NOSPLIT, $0-24
	MOVQ rounds+0(FP), CX
	MOVQ enc+8(FP), AX
	MOVQ dec+16(FP), DI
	MOVQ CX, R8
	SHLQ $4, R8
	ADDQ AX, R8
	MOVOU (R8), X0
	MOVOU X0, (DI)
	ADDQ $16, DI
	SUBQ $16, R8

invloop:
	CMPQ R8, AX
	JEQ  invlast
	MOVOU (R8), X0
	AESIMC X0, X1
	MOVOU X1, (DI)
	ADDQ $16, DI
	SUBQ $16, R8
	JMP  invloop

invlast:
	MOVOU (AX), X0
	MOVOU X0, (DI)
	RET

// func encryptCBC(rounds int, keys *byte, dst, src *byte, n int, iv *[16]byte)
//
// The round keys stay in registers: rk0 in X1, the middle ones so that the
// last nine are X6-X14 (rk1..rk13 in X2-X14 for AES-256), the last one is
// read from memory each block (X15 also carries the plaintext).
TEXT ·encryptCBC(SB), NOSPLIT, $0-48
	MOVQ rounds+0(FP), CX
	MOVQ keys+8(FP), AX
	MOVQ dst+16(FP), DI
	MOVQ src+24(FP), SI
	MOVQ n+32(FP), DX
	MOVQ iv+40(FP), BX
	MOVOU (BX), X0
	MOVQ CX, R8
	SHLQ $4, R8
	ADDQ AX, R8
	MOVOU (AX), X1
	CMPQ CX, $12
	JB   encload10
	JEQ  encload12
	MOVOU 16(AX), X2
	MOVOU 32(AX), X3
	ADDQ $32, AX

encload12:
	MOVOU 16(AX), X4
	MOVOU 32(AX), X5
	ADDQ $32, AX

encload10:
	MOVOU 16(AX), X6
	MOVOU 32(AX), X7
	MOVOU 48(AX), X8
	MOVOU 64(AX), X9
	MOVOU 80(AX), X10
	MOVOU 96(AX), X11
	MOVOU 112(AX), X12
	MOVOU 128(AX), X13
	MOVOU 144(AX), X14

encloop:
	TESTQ DX, DX
	JZ    encdone
	MOVOU (SI), X15
	PXOR  X15, X0
	PXOR  X1, X0
	CMPQ  CX, $12
	JB    enc10
	JEQ   enc12
	AESENC X2, X0
	AESENC X3, X0

enc12:
	AESENC X4, X0
	AESENC X5, X0

enc10:
	AESENC X6, X0
	AESENC X7, X0
	AESENC X8, X0
	AESENC X9, X0
	AESENC X10, X0
	AESENC X11, X0
	AESENC X12, X0
	AESENC X13, X0
	AESENC X14, X0
	MOVOU  (R8), X15
	AESENCLAST X15, X0
	MOVOU X0, (DI)
	ADDQ  $16, SI
	ADDQ  $16, DI
	DECQ  DX
	JMP   encloop

encdone:
	MOVOU X0, (BX)
	RET

// func decryptCBC(rounds int, keys *byte, dst, src *byte, n int, iv *[16]byte)
//
// Eight blocks at a time through the AES unit, then one at a time. X15 is
// the previous ciphertext block, X14 the first round key; every ciphertext
// block is read before any output of its group is written, so dst may be
// src.
TEXT ·decryptCBC(SB), NOSPLIT, $0-48
	MOVQ rounds+0(FP), CX
	MOVQ keys+8(FP), AX
	MOVQ dst+16(FP), DI
	MOVQ src+24(FP), SI
	MOVQ n+32(FP), DX
	MOVQ iv+40(FP), BX
	MOVOU (BX), X15
	MOVQ CX, R8
	SHLQ $4, R8
	ADDQ AX, R8
	MOVOU (AX), X14

decwide:
	CMPQ DX, $8
	JB   decnarrow
	MOVOU 0(SI), X0
	MOVOU 16(SI), X1
	MOVOU 32(SI), X2
	MOVOU 48(SI), X3
	MOVOU 64(SI), X4
	MOVOU 80(SI), X5
	MOVOU 96(SI), X6
	MOVOU 112(SI), X7
	PXOR X14, X0
	PXOR X14, X1
	PXOR X14, X2
	PXOR X14, X3
	PXOR X14, X4
	PXOR X14, X5
	PXOR X14, X6
	PXOR X14, X7
	LEAQ 16(AX), R9

decrounds8:
	MOVOU (R9), X8
	AESDEC X8, X0
	AESDEC X8, X1
	AESDEC X8, X2
	AESDEC X8, X3
	AESDEC X8, X4
	AESDEC X8, X5
	AESDEC X8, X6
	AESDEC X8, X7
	ADDQ $16, R9
	CMPQ R9, R8
	JB   decrounds8
	MOVOU (R8), X8
	AESDECLAST X8, X0
	AESDECLAST X8, X1
	AESDECLAST X8, X2
	AESDECLAST X8, X3
	AESDECLAST X8, X4
	AESDECLAST X8, X5
	AESDECLAST X8, X6
	AESDECLAST X8, X7
	PXOR  X15, X0
	MOVOU 0(SI), X8
	PXOR  X8, X1
	MOVOU 16(SI), X8
	PXOR  X8, X2
	MOVOU 32(SI), X8
	PXOR  X8, X3
	MOVOU 48(SI), X8
	PXOR  X8, X4
	MOVOU 64(SI), X8
	PXOR  X8, X5
	MOVOU 80(SI), X8
	PXOR  X8, X6
	MOVOU 96(SI), X8
	PXOR  X8, X7
	MOVOU 112(SI), X15
	MOVOU X0, 0(DI)
	MOVOU X1, 16(DI)
	MOVOU X2, 32(DI)
	MOVOU X3, 48(DI)
	MOVOU X4, 64(DI)
	MOVOU X5, 80(DI)
	MOVOU X6, 96(DI)
	MOVOU X7, 112(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $8, DX
	JMP  decwide

decnarrow:
	TESTQ DX, DX
	JZ    decdone
	MOVOU (SI), X0
	MOVOU X0, X9
	PXOR  X14, X0
	LEAQ  16(AX), R9

decrounds1:
	MOVOU (R9), X8
	AESDEC X8, X0
	ADDQ $16, R9
	CMPQ R9, R8
	JB   decrounds1
	MOVOU (R8), X8
	AESDECLAST X8, X0
	PXOR  X15, X0
	MOVOU X9, X15
	MOVOU X0, (DI)
	ADDQ  $16, SI
	ADDQ  $16, DI
	DECQ  DX
	JMP   decnarrow

decdone:
	MOVOU X15, (BX)
	RET
