package zfec

// GF(2^8) arithmetic, used only to build the encoding matrix (once per k,n);
// bulk multiplication is left to reedsolomon.

var gfExp [510]byte // gfExp[i] = x^i, doubled so gfExp[a+b] needs no reduction
var gfLog [256]int

func init() {
	v := 1
	for i := range 255 {
		gfExp[i] = byte(v)
		gfLog[v] = i
		v <<= 1
		if v&0x100 != 0 {
			v ^= 0x11d // x^8 = x^4+x^3+x^2+1
		}
	}
	for i := 255; i < len(gfExp); i++ {
		gfExp[i] = gfExp[i-255]
	}
}

func gfMul(a, b byte) byte {
	if a == 0 || b == 0 {
		return 0
	}
	return gfExp[gfLog[a]+gfLog[b]]
}

func gfInv(a byte) byte { return gfExp[255-gfLog[a]] } // a != 0

// parityRows returns rows k..n-1 of zfec's systematic matrix V·inv(V_top).
func parityRows(k, n int) [][]byte {
	if n == k {
		return nil
	}
	v := make([][]byte, n)
	for r := range v {
		v[r] = make([]byte, k)
		if r == 0 {
			v[r][0] = 1 // the point 0: 0^0 = 1, other powers 0
			continue
		}
		for c := range k {
			v[r][c] = gfExp[((r-1)*c)%255]
		}
	}
	inv := invert(v[:k])
	out := make([][]byte, n-k)
	for i := range out {
		row := v[k+i]
		out[i] = make([]byte, k)
		for c := range k {
			var acc byte
			for j := range k {
				acc ^= gfMul(row[j], inv[j][c])
			}
			out[i][c] = acc
		}
	}
	return out
}

// invert returns the inverse of the square matrix m by Gauss-Jordan
// elimination. The top of zfec's matrix is a Vandermonde matrix over
// distinct points, hence always invertible.
func invert(m [][]byte) [][]byte {
	k := len(m)
	a := make([][]byte, k)
	for i := range a {
		a[i] = make([]byte, 2*k)
		copy(a[i], m[i])
		a[i][k+i] = 1
	}
	for col := range k {
		p := col
		for a[p][col] == 0 {
			p++ // exists because the matrix is invertible
		}
		a[col], a[p] = a[p], a[col]
		if f := a[col][col]; f != 1 {
			fi := gfInv(f)
			for j := range a[col] {
				a[col][j] = gfMul(a[col][j], fi)
			}
		}
		for r := range k {
			if r == col || a[r][col] == 0 {
				continue
			}
			f := a[r][col]
			for j := range a[r] {
				a[r][j] ^= gfMul(f, a[col][j])
			}
		}
	}
	out := make([][]byte, k)
	for i := range out {
		out[i] = a[i][k:]
	}
	return out
}
