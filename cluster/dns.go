package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	protocluster "github.com/asynkron/protoactor-go/cluster"
)

// dnsProvider finds the members by resolving one name to every member's address, as
// Render's RENDER_DISCOVERY_SERVICE does for the instances of a scaled service, and
// probing each address's health endpoint, which says which member runs there. A member is
// one that answers: resolved and not answering (starting, stopping, dead) is not one.
type dnsProvider struct {
	name    string
	port    int // every member's manage port
	refresh time.Duration
	log     *slog.Logger
	client  *http.Client
	lookup  func(ctx context.Context, host string) ([]string, error)

	c      *protocluster.Cluster
	self   memberInfo
	server *http.Server
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// memberInfo is what a member's health endpoint answers.
type memberInfo struct {
	Cluster string   `json:"cluster"`
	ID      string   `json:"id"`
	Host    string   `json:"host"`
	Port    int      `json:"port"`
	Kinds   []string `json:"kinds"`
}

var _ protocluster.ClusterProvider = (*dnsProvider)(nil)

func newDNSProvider(name string, port int, refresh time.Duration, log *slog.Logger) *dnsProvider {
	return &dnsProvider{
		name: name, port: port, refresh: refresh, log: log,
		client: &http.Client{Timeout: max(refresh, time.Second)},
		lookup: net.DefaultResolver.LookupHost,
	}
}

// ownAddress is this machine's address among those the name resolves to: the one a member
// advertises, so that the others reach it at the address they found it by.
func (p *dnsProvider) ownAddress(ctx context.Context) (string, error) {
	resolved, err := p.lookup(ctx, p.name)
	if err != nil {
		return "", fmt.Errorf("cluster: resolve %s: %w", p.name, err)
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", fmt.Errorf("cluster: list this machine's addresses: %w", err)
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		for _, r := range resolved {
			if ip := net.ParseIP(r); ip != nil && ip.Equal(ipn.IP) {
				return r, nil
			}
		}
	}
	return "", fmt.Errorf("cluster: none of this machine's addresses is among the %d %s resolves to (%v): give -cluster-addr a host", len(resolved), p.name, resolved)
}

func (p *dnsProvider) StartMember(c *protocluster.Cluster) error {
	host, port, err := c.ActorSystem.GetHostPort()
	if err != nil {
		return fmt.Errorf("cluster: this member's address: %w", err)
	}
	p.c = c
	p.self = memberInfo{Cluster: c.Config.Name, ID: c.ActorSystem.ID, Host: host, Port: port, Kinds: c.GetClusterKinds()}
	// On this member's address only: members may share a machine, each on its own address.
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p.port)))
	if err != nil {
		return fmt.Errorf("cluster: health endpoint: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(p.self)
	})
	p.server = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := p.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Error("cluster health endpoint stopped", slog.Any("err", err))
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	go p.watch(ctx)
	return nil
}

func (p *dnsProvider) StartClient(*protocluster.Cluster) error {
	return errors.New("cluster: the dns provider runs members only")
}

func (p *dnsProvider) Shutdown(bool) error {
	p.once.Do(func() {
		if p.cancel != nil {
			p.cancel()
			<-p.done
		}
		if p.server != nil {
			_ = p.server.Close()
		}
	})
	return nil
}

// watch publishes the members every refresh until ctx ends.
func (p *dnsProvider) watch(ctx context.Context) {
	defer close(p.done)
	t := time.NewTicker(p.refresh)
	defer t.Stop()
	for {
		members, err := p.members(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			p.log.Warn("cluster members not found", slog.String("name", p.name), slog.Any("err", err))
		case err == nil:
			p.c.MemberList.UpdateClusterTopology(members)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// members resolves the name and keeps the addresses whose health endpoint answers as a
// member of this cluster. This member is always one: it may not resolve yet (DNS lags).
func (p *dnsProvider) members(ctx context.Context) (protocluster.Members, error) {
	addrs, err := p.lookup(ctx, p.name)
	if err != nil {
		return nil, fmt.Errorf("resolve: %w", err)
	}
	slices.Sort(addrs)
	found := make([]*memberInfo, len(addrs))
	var wg sync.WaitGroup
	for i, a := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			found[i] = p.probe(ctx, a)
		}()
	}
	wg.Wait()
	members := protocluster.Members{{Id: p.self.ID, Host: p.self.Host, Port: int32(p.self.Port), Kinds: p.self.Kinds}}
	for _, f := range found {
		if f == nil || f.Cluster != p.self.Cluster || f.ID == p.self.ID {
			continue
		}
		members = append(members, &protocluster.Member{Id: f.ID, Host: f.Host, Port: int32(f.Port), Kinds: f.Kinds})
	}
	return members, nil
}

// probe asks one address which member it runs; nil when it does not answer as one.
func (p *dnsProvider) probe(ctx context.Context, addr string) *memberInfo {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(addr, strconv.Itoa(p.port))+"/_health", nil)
	if err != nil {
		return nil
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	var mi memberInfo
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 64<<10)).Decode(&mi); err != nil || mi.ID == "" {
		return nil
	}
	return &mi
}
