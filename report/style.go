package report

import (
	"image/color"
	"math"
)

// tableau holds the Tableau 10 colours without their grey, followed by
// their darker variants: distinguishable for the first eighteen cells.
// Greys are left out of the cell palette: they belong to the legends of
// other things (attempts per call, neutral shading), so a cell never shares
// a colour with another legend of the same chart.
var tableau = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
	{0xd6, 0x27, 0x28, 0xff}, {0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff},
	{0xe3, 0x77, 0xc2, 0xff}, {0xbc, 0xbd, 0x22, 0xff}, {0x17, 0xbe, 0xcf, 0xff},
	{0x0b, 0x3c, 0x5d, 0xff}, {0xa6, 0x4b, 0x00, 0xff}, {0x14, 0x5a, 0x14, 0xff},
	{0x7b, 0x12, 0x12, 0xff}, {0x4e, 0x2a, 0x84, 0xff}, {0x4a, 0x2c, 0x26, 0xff},
	{0x9c, 0x27, 0x7b, 0xff}, {0x6b, 0x6b, 0x00, 0xff}, {0x0a, 0x6e, 0x78, 0xff},
}

// colorAt returns the i-th colour of the cell palette: the Tableau colours
// first, then hues spaced by the golden angle (never grey).
func colorAt(i int) color.RGBA {
	if i < len(tableau) {
		return tableau[i]
	}
	h := math.Mod(float64(i-len(tableau))*137.508, 360)
	l := 0.38 + 0.12*float64(i%3)
	return hsl(h, 0.6, l)
}

// hsl converts a hue in degrees, saturation and lightness in [0, 1] to RGB.
func hsl(h, s, l float64) color.RGBA {
	c := (1 - math.Abs(2*l-1)) * s
	x := c * (1 - math.Abs(math.Mod(h/60, 2)-1))
	m := l - c/2
	var r, g, b float64
	switch {
	case h < 60:
		r, g = c, x
	case h < 120:
		r, g = x, c
	case h < 180:
		g, b = c, x
	case h < 240:
		g, b = x, c
	case h < 300:
		r, b = x, c
	default:
		r, b = c, x
	}
	f := func(v float64) uint8 { return uint8(math.Round((v + m) * 255)) }
	return color.RGBA{f(r), f(g), f(b), 0xff}
}

// codeColors gives the common status codes fixed colours, OK green.
var codeColors = map[string]color.RGBA{
	"OK":                  {0x2c, 0xa0, 0x2c, 0xff},
	"UNAVAILABLE":         {0xd6, 0x27, 0x28, 0xff},
	"DEADLINE_EXCEEDED":   {0xff, 0x7f, 0x0e, 0xff},
	"RESOURCE_EXHAUSTED":  {0x94, 0x67, 0xbd, 0xff},
	"ABORTED":             {0x8c, 0x56, 0x4b, 0xff},
	"CANCELED":            {0x7f, 0x7f, 0x7f, 0xff},
	"INTERNAL":            {0xe3, 0x77, 0xc2, 0xff},
	"UNKNOWN":             {0xbc, 0xbd, 0x22, 0xff},
	"NOT_FOUND":           {0x17, 0xbe, 0xcf, 0xff},
	"INVALID_ARGUMENT":    {0x1f, 0x77, 0xb4, 0xff},
	"FAILED_PRECONDITION": {0xff, 0xbb, 0x78, 0xff},
	"PERMISSION_DENIED":   {0xc5, 0xb0, 0xd5, 0xff},
	"UNAUTHENTICATED":     {0xf7, 0xb6, 0xd2, 0xff},
	"ALREADY_EXISTS":      {0x98, 0xdf, 0x8a, 0xff},
	"OUT_OF_RANGE":        {0xc4, 0x9c, 0x94, 0xff},
	"UNIMPLEMENTED":       {0x9e, 0xda, 0xe5, 0xff},
	"DATA_LOSS":           {0x00, 0x00, 0x00, 0xff},
}

// greys returns n shades of grey from light to dark: the colours of an
// ordinal legend (attempts per call), which no cell uses.
func greys(n int) []color.Color {
	out := make([]color.Color, n)
	for i := range out {
		y := 0xe4 - (0xe4-0x88)*i/max(1, n-1)
		out[i] = color.Gray{Y: uint8(y)}
	}
	return out
}

// distance is a perceptual-ish distance between two colours (redmean).
func distance(a, b color.RGBA) float64 {
	rm := (float64(a.R) + float64(b.R)) / 2
	dr, dg, db := float64(a.R)-float64(b.R), float64(a.G)-float64(b.G), float64(a.B)-float64(b.B)
	return math.Sqrt((2+rm/256)*dr*dr + 4*dg*dg + (2+(255-rm)/256)*db*db)
}

// legendColors returns n colours for a legend that shares a chart with the
// cell colours avoid: the first of candidates far from every avoided
// colour, then greys.
func legendColors(n int, candidates []color.RGBA, avoid []color.RGBA) []color.RGBA {
	const minDistance = 150
	var out []color.RGBA
	for _, c := range candidates {
		if len(out) == n {
			return out
		}
		far := true
		for _, a := range avoid {
			far = far && distance(c, a) >= minDistance
		}
		if far {
			out = append(out, c)
		}
	}
	for _, g := range greys(n - len(out)) {
		r, _, _, _ := g.RGBA()
		y := uint8(r >> 8)
		out = append(out, color.RGBA{y, y, y, 0xff})
	}
	return out
}

// codeColor returns the colour of a status code name; i is its position
// among the codes of the chart, used for names without a fixed colour.
func codeColor(name string, i int) color.RGBA {
	if c, ok := codeColors[name]; ok {
		return c
	}
	return colorAt(len(tableau) + i)
}

// faultCandidates are the colours fault windows are shaded in, in order of
// preference; a chart takes those far from the colours of its cells.
var faultCandidates = []color.RGBA{
	{0xd6, 0x27, 0x28, 0xff}, {0x94, 0x67, 0xbd, 0xff}, {0xff, 0x7f, 0x0e, 0xff},
	{0x17, 0xbe, 0xcf, 0xff}, {0xbc, 0xbd, 0x22, 0xff}, {0xe3, 0x77, 0xc2, 0xff},
	{0x8c, 0x56, 0x4b, 0xff}, {0x1f, 0x77, 0xb4, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
}

// faultShade returns the translucent shade of a fault window in colour c.
func faultShade(c color.RGBA) color.NRGBA { return color.NRGBA{c.R, c.G, c.B, 0x38} }

// cssColor formats c as a CSS hex colour.
func cssColor(c color.RGBA) string {
	const hex = "0123456789abcdef"
	b := []byte{'#', hex[c.R>>4], hex[c.R&15], hex[c.G>>4], hex[c.G&15], hex[c.B>>4], hex[c.B&15]}
	return string(b)
}
