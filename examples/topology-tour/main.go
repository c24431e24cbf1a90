// Command topology-tour loads a continuum and prints what continuum's topology package
// knows about it: the clusters, the round-trip-time matrix against the physical floors,
// and the routes from every user site to every cluster.
//
// Without arguments it tours the continuum of Fig. 1 of the seed paper (a cloud domain
// in Frankfurt, edge domains in Geneva and Milan, users at both edges):
//
//	go run ./examples/topology-tour
//	go run ./examples/topology-tour -f my-continuum.yaml
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/continuum-xr/continuum/topology"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

func main() {
	if err := run(os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "topology-tour:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("topology-tour", flag.ContinueOnError)
	fs.SetOutput(w)
	file := fs.String("f", "", "topology file (YAML or JSON); default: the seed paper's Fig. 1 continuum")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var (
		topo *topology.Topology
		err  error
	)
	if *file == "" {
		topo, err = topology.Decode(topologytest.PaperFig1YAML())
	} else {
		topo, err = topology.Load(*file)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Continuum %q: %d clusters, %d links, %d sites, %d owners\n\n",
		topo.Name(), topo.NumClusters(), len(topo.Links()), len(topo.Sites()), len(topo.Owners()))
	printClusters(w, topo)
	if err := printMatrix(w, topo); err != nil {
		return err
	}
	return printRoutes(w, topo)
}

func printClusters(w io.Writer, topo *topology.Topology) {
	fmt.Fprintln(w, "Clusters")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tOWNER\tTIER\tREGION\tDIST\tCPU\tMEMORY\tGPU\tUDP\tPRICE/CPU-h\tUPLINK")
	for _, c := range topo.Clusters() {
		cpu, mem := c.Capacity[topology.ResourceCPU], c.Capacity[topology.ResourceMemory]
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%v\t%.2f\t%s\n", c.Name, c.Owner, c.Tier, c.Region,
			c.Distribution, cpu.String(), mem.String(), c.Capacity.GPU(), c.UDPExposure, c.CPUPrice, c.Uplink)
	}
	tw.Flush()
	fmt.Fprintln(w)
}

// printMatrix prints the RTT between every pair of clusters, with the physical floor in
// brackets where both are located; "*" marks a route over more than one link.
func printMatrix(w io.Writer, topo *topology.Topology) error {
	fmt.Fprintln(w, "Round-trip times between clusters [physical floor]; * = multi-hop route")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	names := make([]string, topo.NumClusters())
	for i := range names {
		names[i] = topo.ClusterAt(i).Name
	}
	fmt.Fprintf(tw, "\t%s\t\n", strings.Join(names, "\t"))
	for _, a := range names {
		row := []string{a}
		for _, b := range names {
			p, err := topo.Path(a, b)
			if err != nil {
				row = append(row, "-")
				continue
			}
			cell := fmtMs(p.RTT)
			if len(p.Hops) > 1 {
				cell += "*"
			}
			if floor, ok, _ := topo.Floor(a, b); ok && a != b {
				cell += " [" + fmtMs(floor) + "]"
			}
			row = append(row, cell)
		}
		fmt.Fprintf(tw, "%s\t\n", strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	return nil
}

func printRoutes(w io.Writer, topo *topology.Topology) error {
	fmt.Fprintln(w, "Routes from user sites (geo estimate where located)")
	for _, s := range topo.Sites() {
		for i := range topo.NumClusters() {
			c := topo.ClusterAt(i).Name
			p, err := topo.Path(s.Name, c)
			if err != nil {
				fmt.Fprintf(w, "  %s -> %s: %v\n", s.Name, c, err)
				continue
			}
			est := ""
			if e, ok, _ := topo.Estimate(s.Name, c); ok {
				est = ", estimate " + fmtMs(e)
			}
			fmt.Fprintf(w, "  %-40s bottleneck %s%s\n", p.String(), p.Bottleneck, est)
		}
	}
	return nil
}

func fmtMs(d topology.Duration) string { return fmt.Sprintf("%.1fms", d.Ms()) }
