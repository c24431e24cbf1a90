package decode

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// MaxString is the longest string value a document may hold, in bytes: names, labels,
// regions and other free-form text. Longer strings are a problem at their path.
const MaxString = 1024

// MaxList and MaxMap bound every list and object of strings or quantities a decoder
// reads (typed decoders give tighter limits with ListMax); MaxProblems bounds the
// problems a Decoder keeps (the rest are counted), so that a small hostile document
// cannot make a large error.
const (
	MaxList     = 100_000
	MaxMap      = 1000
	MaxProblems = 1000
)

// MaxFileSize is the default limit on the size of a document file that the loaders
// read (64 MiB); each loader's options can change it.
const MaxFileSize = 64 << 20

// clipKeep is how many bytes Clip keeps at each end of a long value.
const clipKeep = 24

// Clip returns s when it is at most 64 bytes long, else its first and last bytes and
// its length ("aaaa...zzzz (50000000 bytes)"), so that an error message quoting a value
// stays small whatever the input.
func Clip(s string) string {
	if len(s) <= 2*clipKeep+16 {
		return s
	}
	return s[:clipKeep] + "..." + s[len(s)-clipKeep:] + " (" + strconv.Itoa(len(s)) + " bytes)"
}

// Quote is %q of Clip(s): a value quoted in a message, cut when long.
func Quote(s string) string {
	if len(s) <= 2*clipKeep+16 {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:clipKeep]) + "..." + strconv.Quote(s[len(s)-clipKeep:]) + " (" + strconv.Itoa(len(s)) + " bytes)"
}

// maxDetail and maxField bound one problem's text: a detail or path longer than these
// is cut in the middle, keeping its start and end and saying how long it was.
const (
	maxDetail = 512
	maxField  = 256
)

func clipText(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	keep := (limit - 32) / 2
	return s[:keep] + "..." + s[len(s)-keep:] + " (" + strconv.Itoa(len(s)) + " bytes)"
}

// maxListed is how many problems FormatList writes out; the rest are counted.
const maxListed = 50

// nonFinite walks a YAML tree (as go.yaml.in/yaml/v2 decodes it) and returns the path
// of the first NaN or infinite number, in document order, for a problem that names it.
func nonFinite(v any, path string) (string, float64, bool) {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return path, x, true
		}
	case map[any]any:
		keys := make([]string, 0, len(x))
		byKey := make(map[string]any, len(x))
		for k, val := range x {
			ks := fmt.Sprint(k)
			keys = append(keys, ks)
			byKey[ks] = val
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p, f, ok := nonFinite(byKey[k], Field(path, k)); ok {
				return p, f, true
			}
		}
	case []any:
		for i, e := range x {
			if p, f, ok := nonFinite(e, Index(path, i)); ok {
				return p, f, true
			}
		}
	}
	return "", 0, false
}

// finiteDetail describes a non-finite number for a problem.
func finiteDetail(f float64) string {
	s := strings.ToLower(strconv.FormatFloat(f, 'g', -1, 64))
	return s + " is not a finite number"
}
