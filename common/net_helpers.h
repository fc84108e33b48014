/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One-line C forwards to the `static inline` networking primitives (and bitfield accesses)
 * that Rust cannot call directly; the definitions are in common/net_helpers.c, which is
 * linked into the modules that use common/net.rs.
 */
#include <linux/netdevice.h>
#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/skbuff.h>

void *ldd3_netdev_priv(const struct net_device *dev);
void ldd3_dev_hold(struct net_device *dev);
void ldd3_dev_put(struct net_device *dev);
void ldd3_netif_start_queue(struct net_device *dev);
void ldd3_netif_stop_queue(struct net_device *dev);
void ldd3_netif_wake_queue(struct net_device *dev);
bool ldd3_netif_queue_stopped(const struct net_device *dev);
void ldd3_eth_hw_addr_set(struct net_device *dev, const u8 *addr);
void ldd3_netif_napi_add(struct net_device *dev, struct napi_struct *napi,
			 int (*poll)(struct napi_struct *, int), int weight);
bool ldd3_napi_schedule(struct napi_struct *napi);
void ldd3_skb_reserve(struct sk_buff *skb, int len);
struct sk_buff *ldd3_netdev_alloc_skb(struct net_device *dev, unsigned int len);
void ldd3_skb_rx_prepare(struct sk_buff *skb, struct net_device *dev);
void ldd3_dev_kfree_skb_any(struct sk_buff *skb);
