package stats

import (
	"errors"
	"fmt"
	"math"
)

// USL is Gunther's Universal Scalability Law: the throughput of N replicas
//
//	X(N) = λ·N / (1 + σ·(N−1) + κ·N·(N−1))
//
// with λ the throughput of one replica, σ the contention (the serial share) and κ the
// coherency cost (crosstalk between every pair of replicas).
type USL struct {
	Lambda, Sigma, Kappa float64
	// R2 is the fit's coefficient of determination on the throughputs, RMSE the root mean
	// square of its residuals (same unit as X), Points the number of calibration points.
	R2, RMSE float64
	Points   int
}

// X is the throughput the law gives for n replicas.
func (u USL) X(n float64) float64 {
	return u.Lambda * n / (1 + u.Sigma*(n-1) + u.Kappa*n*(n-1))
}

// Peak is the replica count of the highest throughput, √((1−σ)/κ), and that throughput;
// +Inf without coherency cost (κ = 0), where X only approaches λ/σ.
func (u USL) Peak() (n, x float64) {
	if u.Kappa <= 0 {
		if u.Sigma <= 0 {
			return math.Inf(1), math.Inf(1)
		}
		return math.Inf(1), u.Lambda / u.Sigma
	}
	n = math.Sqrt((1 - u.Sigma) / u.Kappa)
	return n, u.X(n)
}

// FitUSL fits the law to throughputs x measured at replica counts n by least squares on
// the throughputs, σ and κ kept ≥ 0. It starts from Gunther's quadratic fit (with λ the
// throughput of the smallest count per replica, N/C(N) − 1 = σ(N−1) + κN(N−1) is linear in σ
// and κ) and refines all three by Levenberg-Marquardt. It needs at least 3 distinct counts.
func FitUSL(n, x []float64) (USL, error) {
	if len(n) != len(x) {
		return USL{}, errors.New("usl: as many throughputs as replica counts")
	}
	distinct := map[float64]bool{}
	for i := range n {
		if n[i] < 1 || x[i] <= 0 || math.IsNaN(x[i]) || math.IsInf(x[i], 0) {
			return USL{}, fmt.Errorf("usl: point %d: want at least 1 replica and a positive throughput, got %g at %g", i+1, x[i], n[i])
		}
		distinct[n[i]] = true
	}
	if len(distinct) < 3 {
		return USL{}, fmt.Errorf("usl: need throughputs at 3 or more replica counts, got %d", len(distinct))
	}
	// λ from the smallest count, then the quadratic fit through the origin:
	// y = N·λ/X − 1 = σ·a + κ·b with a = N−1, b = N(N−1).
	lo := 0
	for i := range n {
		if n[i] < n[lo] {
			lo = i
		}
	}
	u := USL{Lambda: x[lo] / n[lo]}
	var saa, sab, sbb, say, sby float64
	for i := range n {
		a, b := n[i]-1, n[i]*(n[i]-1)
		y := n[i]*u.Lambda/x[i] - 1
		saa, sab, sbb, say, sby = saa+a*a, sab+a*b, sbb+b*b, say+a*y, sby+b*y
	}
	if det := saa*sbb - sab*sab; det != 0 {
		u.Sigma = max((say*sbb-sby*sab)/det, 0)
		u.Kappa = max((saa*sby-sab*say)/det, 0)
	}
	u = refineUSL(u, n, x)
	var mean, sst, sse float64
	for _, v := range x {
		mean += v / float64(len(x))
	}
	for i := range n {
		r := x[i] - u.X(n[i])
		sse += r * r
		sst += (x[i] - mean) * (x[i] - mean)
	}
	u.R2 = 1
	if sst > 0 {
		u.R2 = 1 - sse/sst
	}
	u.RMSE = math.Sqrt(sse / float64(len(x)))
	u.Points = len(x)
	return u, nil
}

// refineUSL minimizes Σ (x − X(n))² by Levenberg-Marquardt from u, keeping σ, κ ≥ 0.
// Parameters are scaled (λ by its start, κ by 1e-4) so the steps are of like size.
func refineUSL(u USL, n, x []float64) USL {
	scale := [3]float64{u.Lambda, 1, 1e-4}
	p := [3]float64{1, u.Sigma, u.Kappa / scale[2]}
	model := func(p [3]float64) USL {
		return USL{Lambda: p[0] * scale[0], Sigma: max(p[1], 0), Kappa: max(p[2], 0) * scale[2]}
	}
	sse := func(p [3]float64) float64 {
		m, s := model(p), 0.0
		for i := range n {
			r := x[i] - m.X(n[i])
			s += r * r
		}
		return s
	}
	mu, cur := 1e-3, sse(p)
	for range 200 {
		m := model(p)
		var jtj [3][3]float64
		var jtr [3]float64
		for i := range n {
			d := 1 + m.Sigma*(n[i]-1) + m.Kappa*n[i]*(n[i]-1)
			j := [3]float64{
				n[i] / d * scale[0],
				-m.Lambda * n[i] * (n[i] - 1) / (d * d),
				-m.Lambda * n[i] * n[i] * (n[i] - 1) / (d * d) * scale[2],
			}
			r := x[i] - m.X(n[i])
			for a := range 3 {
				jtr[a] += j[a] * r
				for b := range 3 {
					jtj[a][b] += j[a] * j[b]
				}
			}
		}
		improved := false
		for range 20 {
			var A [3][3]float64
			for a := range 3 {
				A[a] = jtj[a]
				A[a][a] += mu * max(jtj[a][a], 1e-12)
			}
			step, ok := solve3(A, jtr)
			if !ok {
				mu *= 10
				continue
			}
			q := [3]float64{p[0] + step[0], max(p[1]+step[1], 0), max(p[2]+step[2], 0)}
			if s := sse(q); s < cur {
				done := cur-s <= 1e-15*cur
				p, cur, mu, improved = q, s, mu/10, true
				if done {
					return model(p)
				}
				break
			}
			mu *= 10
		}
		if !improved {
			break
		}
	}
	return model(p)
}

// solve3 solves A·v = b by Cramer's rule; ok is false for a singular A.
func solve3(A [3][3]float64, b [3]float64) (v [3]float64, ok bool) {
	det := func(m [3][3]float64) float64 {
		return m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) - m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) + m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
	}
	d := det(A)
	if d == 0 || math.IsNaN(d) {
		return v, false
	}
	for c := range 3 {
		m := A
		for r := range 3 {
			m[r][c] = b[r]
		}
		v[c] = det(m) / d
	}
	return v, true
}
