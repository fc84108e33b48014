// SPDX-License-Identifier: GPL-2.0
/* See common/net_helpers.h. */
#include "net_helpers.h"

/*
 * net_device_ops.ndo_start_xmit of every device made by common/net: forwards to the driver's
 * Rust function, which the device's private area holds from before register_netdev() on.
 * The Rust function returns NETDEV_TX_OK or NETDEV_TX_BUSY.
 */
netdev_tx_t ldd3_start_xmit(struct sk_buff *skb, struct net_device *dev)
{
	const struct ldd3_priv_head *head = netdev_priv(dev);

	return (netdev_tx_t)head->start_xmit(skb, dev);
}

void *ldd3_netdev_priv(const struct net_device *dev) { return netdev_priv(dev); }
void ldd3_dev_hold(struct net_device *dev) { dev_hold(dev); }
void ldd3_dev_put(struct net_device *dev) { dev_put(dev); }
void ldd3_netif_start_queue(struct net_device *dev) { netif_start_queue(dev); }
void ldd3_netif_stop_queue(struct net_device *dev) { netif_stop_queue(dev); }
void ldd3_netif_wake_queue(struct net_device *dev) { netif_wake_queue(dev); }
bool ldd3_netif_queue_stopped(const struct net_device *dev) { return netif_queue_stopped(dev); }
void ldd3_eth_hw_addr_set(struct net_device *dev, const u8 *addr) { eth_hw_addr_set(dev, addr); }
void ldd3_netif_napi_add(struct net_device *dev, struct napi_struct *napi,
			 int (*poll)(struct napi_struct *, int), int weight)
{
	netif_napi_add_weight(dev, napi, poll, weight);
}
bool ldd3_napi_schedule(struct napi_struct *napi) { return napi_schedule(napi); }
void ldd3_skb_reserve(struct sk_buff *skb, int len) { skb_reserve(skb, len); }
struct sk_buff *ldd3_netdev_alloc_skb(struct net_device *dev, unsigned int len)
{
	return netdev_alloc_skb(dev, len);
}
/* Sets the protocol from the Ethernet header and trusts the checksums (a loopback link). */
void ldd3_skb_rx_prepare(struct sk_buff *skb, struct net_device *dev)
{
	skb->protocol = eth_type_trans(skb, dev);
	skb->ip_summed = CHECKSUM_UNNECESSARY;
}
void ldd3_dev_kfree_skb_any(struct sk_buff *skb) { dev_kfree_skb_any(skb); }
