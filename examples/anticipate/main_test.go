package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestShortRun runs the CI form and checks the table and the plot.
func TestShortRun(t *testing.T) {
	file := filepath.Join(t.TempDir(), "anticipate.svg")
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-short", "-o", file}, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	row := regexp.MustCompile(`(?m)^(reactive|anticipating) +(\d+) \((\d+)/(\d+)/(\d+)/(\d+)\) +(\d+) +([0-9.]+) +(\d+)$`)
	rows := row.FindAllStringSubmatch(out.String(), -1)
	if len(rows) != 2 || rows[0][1] != "reactive" || rows[1][1] != "anticipating" {
		t.Fatalf("want a table row per loop, got %q in:\n%s", rows, out.String())
	}
	if !regexp.MustCompile(`(?m)^static peak +- +- +[0-9.]+ +-$`).MatchString(out.String()) {
		t.Errorf("no static peak row in:\n%s", out.String())
	}
	for _, r := range rows {
		if r[8] == "0.00" {
			t.Errorf("%s: no replica-hours: the judge saw no ready replica", r[1])
		}
	}
	if !strings.Contains(out.String(), "plot written to "+file) {
		t.Errorf("output does not name the plot:\n%s", out.String())
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	root, lines := "", 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the plot is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
			}
			if se.Name.Local == "polyline" {
				lines++
			}
		}
	}
	if root != "svg" || lines != 5 {
		t.Errorf("plot: root %q with %d lines, want svg with 5 (violations and renderers per loop, and the need)", root, lines)
	}
}

// TestBadArguments: an unknown flag or argument is an error, not a run.
func TestBadArguments(t *testing.T) {
	for _, args := range [][]string{{"-nope"}, {"extra"}} {
		if err := run(t.Context(), args, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
