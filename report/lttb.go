package report

import "math"

// point is one (x, y) sample of a time series.
type point struct{ X, Y float64 }

// lttb downsamples pts (sorted by X) to at most n points with the
// Largest-Triangle-Three-Buckets algorithm (Steinarsson, 2013): the first
// and last points are kept, the others are split into n−2 buckets and from
// each the point forming the largest triangle with the previously chosen
// point and the average of the next bucket is kept. Peaks therefore
// survive, unlike with averaging or striding. pts is returned unchanged
// when it has at most n points or n < 3.
func lttb(pts []point, n int) []point {
	if n < 3 || len(pts) <= n {
		return pts
	}
	out := make([]point, 0, n)
	out = append(out, pts[0])
	// Buckets cover pts[1 : len-1]; every bucket is size points wide.
	size := float64(len(pts)-2) / float64(n-2)
	a := 0 // index of the last chosen point
	for i := 0; i < n-2; i++ {
		lo := int(math.Floor(float64(i)*size)) + 1
		hi := int(math.Floor(float64(i+1)*size)) + 1
		// Average of the next bucket (the last point for the last bucket).
		nlo, nhi := hi, int(math.Floor(float64(i+2)*size))+1
		if nhi > len(pts)-1 {
			nhi = len(pts) - 1
		}
		var ax, ay float64
		if nlo >= nhi {
			ax, ay = pts[len(pts)-1].X, pts[len(pts)-1].Y
		} else {
			for _, p := range pts[nlo:nhi] {
				ax += p.X
				ay += p.Y
			}
			ax /= float64(nhi - nlo)
			ay /= float64(nhi - nlo)
		}
		best, bestArea := lo, -1.0
		pa := pts[a]
		for j := lo; j < hi; j++ {
			area := math.Abs((pa.X-ax)*(pts[j].Y-pa.Y) - (pa.X-pts[j].X)*(ay-pa.Y))
			if area > bestArea {
				best, bestArea = j, area
			}
		}
		out = append(out, pts[best])
		a = best
	}
	return append(out, pts[len(pts)-1])
}
