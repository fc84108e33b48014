// SPDX-License-Identifier: GPL-2.0
/* See common/net/helpers.h. */
#include "helpers.h"

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

void ldd3_dev_hold(struct net_device *dev) { dev_hold(dev); }
void ldd3_dev_put(struct net_device *dev) { dev_put(dev); }
void ldd3_netif_start_queue(struct net_device *dev) { netif_start_queue(dev); }
void ldd3_netif_stop_queue(struct net_device *dev) { netif_stop_queue(dev); }
void ldd3_netif_wake_queue(struct net_device *dev) { netif_wake_queue(dev); }
void ldd3_eth_hw_addr_set(struct net_device *dev, const u8 *addr) { eth_hw_addr_set(dev, addr); }
/* `fmt_args` is a Rust `core::fmt::Arguments`, printed by the kernel's %pA. */
void ldd3_netdev_info(const struct net_device *dev, const void *fmt_args)
{
	netdev_info(dev, "%pA", fmt_args);
}
void ldd3_dev_core_stats_rx_dropped_inc(struct net_device *dev)
{
	dev_core_stats_rx_dropped_inc(dev);
}
void ldd3_netif_napi_add(struct net_device *dev, struct napi_struct *napi,
			 int (*poll)(struct napi_struct *, int), int weight)
{
	netif_napi_add_weight(dev, napi, poll, weight);
}
bool ldd3_napi_schedule(struct napi_struct *napi) { return napi_schedule(napi); }
/*
 * napi_gro_receive() always takes the skb (merged, held or passed up); its gro_result_t only
 * matters to drivers that recycle buffers, so it is dropped here.
 */
void ldd3_napi_gro_receive(struct napi_struct *napi, struct sk_buff *skb)
{
	napi_gro_receive(napi, skb);
}
void ldd3_skb_checksum_unnecessary(struct sk_buff *skb) { skb->ip_summed = CHECKSUM_UNNECESSARY; }
bool ldd3_skb_checksum_partial(const struct sk_buff *skb)
{
	return skb->ip_summed == CHECKSUM_PARTIAL;
}
void ldd3_skb_set_protocol_eth(struct sk_buff *skb, struct net_device *dev)
{
	skb->protocol = eth_type_trans(skb, dev);
}
/* A super-frame is a GSO skb whose checksum is left to the device (TCP sets both). */
bool ldd3_skb_is_super_frame(const struct sk_buff *skb)
{
	return skb_is_gso(skb) && skb->ip_summed == CHECKSUM_PARTIAL;
}
/*
 * The copy a device makes of a transmitted skb: skb_copy_and_csum_dev(), which fills in a
 * CHECKSUM_PARTIAL checksum, but a super-frame (GSO) as it is, with skb_copy_bits(), its
 * checksum left for its segments. 0, or -EFAULT if a fragment is unreadable.
 */
int ldd3_skb_copy_dev(const struct sk_buff *skb, u8 *to)
{
	if (skb_is_gso(skb))
		return skb_copy_bits(skb, 0, to, skb->len);
	skb_copy_and_csum_dev(skb, to);
	return 0;
}
/*
 * A copy of a transmitted skb for a device to receive, its payload shared instead of copied,
 * as __dev_forward_skb() passes one on (veth): pskb_copy() makes a new skb with a head of its
 * own (the headroom and linear data copied, dataref 1) that takes references to the page
 * fragments and the frag_list (user pages sent with MSG_ZEROCOPY too, with their completion
 * notice, skb_zerocopy_clone(); zerocopy pages that may not be held are copied out first,
 * skb_orphan_frags()), with the header fields, checksum state and segmentation of the
 * original; skb_scrub_packet() then drops what belonged to the sending side (its route,
 * conntrack, extensions, mark and timestamp). NULL if memory is short, or if the fragments
 * are not the CPU's to read (netmem), which the copy could not pass on.
 */
struct sk_buff *ldd3_skb_forward(struct sk_buff *skb)
{
	struct sk_buff *n;

	if (!skb_frags_readable(skb))
		return NULL;
	n = pskb_copy(skb, GFP_ATOMIC);
	if (!n)
		return NULL;
	skb_scrub_packet(n, true);
	n->priority = 0;
	return n;
}
void ldd3_kfree_skb_too_small(struct sk_buff *skb)
{
	dev_kfree_skb_any_reason(skb, SKB_DROP_REASON_PKT_TOO_SMALL);
}
