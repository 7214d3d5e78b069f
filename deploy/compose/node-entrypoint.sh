#!/usr/bin/env bash
# A lab node: its own Docker engine (pods run inside this node, as on a real host),
# routes to the other nodes' pod networks, then the kubelet and the proxy.
#   NODE_NAME, NODE_IP, POD_CIDR, and PEERS="ip=cidr ip=cidr" come from compose.
set -eu
sysctl -w net.ipv4.ip_forward=1 >/dev/null 2>&1 || true
# iptables=false: minik writes no iptables rules and needs none; pod traffic between
# nodes is plain routing over the lab network.
dockerd --iptables=false --ip-masq=false >/var/log/dockerd.log 2>&1 &
for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
for peer in ${PEERS:-}; do
    ip route replace "${peer#*=}" via "${peer%%=*}"
done
KUBECONFIG_DIR=/lab/generated/kubeconfigs
python -m kubelet --kubeconfig "$KUBECONFIG_DIR/kubelet.kubeconfig" --node-name "$NODE_NAME" \
    --node-ip "$NODE_IP" --pod-cidr "$POD_CIDR" --root-dir /var/lib/minik &
python -m proxy --kubeconfig "$KUBECONFIG_DIR/kube-proxy.kubeconfig" --node-name "$NODE_NAME" \
    --node-ip "$NODE_IP" &
wait -n
