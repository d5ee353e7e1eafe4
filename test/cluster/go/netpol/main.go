// The NetworkPolicy engine of the local cluster: the Kubernetes SIG's
// kube-network-policies controller, run as a host process with a kubeconfig
// (the upstream command only reads an in-cluster service account).
//
// The controller decides on the first packet of every connection that the kernel
// queues to it over nfnetlink_queue. Its own nftables rules use the `queue`
// expression, which this machine's kernel lacks (CONFIG_NFT_QUEUE); the cluster
// bootstrap queues the packets with an iptables NFQUEUE rule instead, see
// test/cluster/netpol.ts and docs/local-cluster.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/textlogger"
	"sigs.k8s.io/kube-network-policies/pkg/networkpolicy"
)

// quiet drops the controller's reports of its failed nftables sync, which it repeats
// after every pod or policy change (the kernel lacks the queue expression; see above).
type quiet struct{ logr.LogSink }

func noise(msg string, err error, kv []any) bool {
	return strings.Contains(msg, "nftables") || strings.Contains(fmt.Sprint(err, kv), "netlink receive")
}

func (q quiet) Info(level int, msg string, kv ...any) {
	if !noise(msg, nil, kv) {
		q.LogSink.Info(level, msg, kv...)
	}
}

func (q quiet) Error(err error, msg string, kv ...any) {
	if !noise(msg, err, kv) {
		q.LogSink.Error(err, msg, kv...)
	}
}

func (q quiet) WithValues(kv ...any) logr.LogSink { return quiet{q.LogSink.WithValues(kv...)} }
func (q quiet) WithName(name string) logr.LogSink { return quiet{q.LogSink.WithName(name)} }

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the engine's identity")
	nodeName := flag.String("hostname-override", "", "the node whose pods this engine filters")
	queueID := flag.Int("nfqueue-id", 100, "the nfqueue the packets are queued to")
	metrics := flag.String("metrics-bind-address", "127.0.0.1:9080", "address of the /metrics endpoint")
	klog.InitFlags(nil)
	flag.Parse()
	verbosity, _ := strconv.Atoi(flag.Lookup("v").Value.String())
	klog.SetLogger(logr.New(quiet{textlogger.NewLogger(textlogger.NewConfig(textlogger.Verbosity(verbosity))).GetSink()}))
	if err := run(*kubeconfig, *nodeName, *queueID, *metrics); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(kubeconfig, nodeName string, queueID int, metrics string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("reading kubeconfig %s: %w", kubeconfig, err)
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	controller, err := networkpolicy.NewController(
		client,
		factory.Networking().V1().NetworkPolicies(),
		factory.Core().V1().Namespaces(),
		factory.Core().V1().Pods(),
		nil, nil, nil, nil,
		networkpolicy.Config{
			// A stopped engine must not cut every pod off: packets pass
			// when nobody listens on the queue (the iptables rule says
			// --queue-bypass too).
			FailOpen:            true,
			QueueID:             queueID,
			NodeName:            nodeName,
			NetfilterBug1766Fix: false, // fixed in kernels 6.12 and later
			// Left enabled although containerd 1.6 has no NRI socket (the plugin's
			// connection fails once, logged): with NRI disabled, v0.8.0 dereferences
			// its nil plugin for every packet to or from an address that is not a pod.
			NRIdisabled: false,
		},
	)
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.Handler())
	go func() {
		if err := http.ListenAndServe(metrics, mux); err != nil {
			klog.ErrorS(err, "metrics endpoint")
		}
	}()

	done := make(chan error, 1)
	go func() { done <- controller.Run(ctx) }()
	factory.Start(ctx.Done())
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return <-done
	}
}
