// Package cluster runs several bot processes as one protoactor-go cluster. Each user's key is
// a cluster identity of kind "user", placed on one member by protoactor's identity lookup
// (disthash); the member that takes an update from Telegram journals it in the durable store
// and forwards it, with an acknowledged request that is tried again until it is taken, to the
// member that hosts the key, whose runtime runs the user's actor. Membership comes from
// protoactor's automanaged or Kubernetes provider, or from a name that resolves to every
// member (Render's RENDER_DISCOVERY_SERVICE).
//
// Placement is not exclusive while members join and leave: protoactor can run one identity on
// two members for a while. Correctness rests on the durable store, not on placement: its
// commits are fenced (a stale activation's commit is refused) and ordered (a user's update is
// committed only after every earlier journaled one), so the cluster decides where a user
// runs, and the store that it runs right.
//
// protoactor's cluster and grpc trip the race detector inside their own code: the tests of
// this package are behind the build tag "cluster" and run without -race (.ci/run does).
package cluster
