/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One-line C forwards to the `static inline` networking primitives (and bitfield accesses)
 * that Rust cannot call directly, and the one trampoline that kCFI needs; the definitions are
 * in common/net/helpers.c, which is linked into the modules that use common/net/.
 */
#include <linux/netdevice.h>
#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/skbuff.h>

/*
 * The head of the private area of every device made by common/net (`PrivArea` in
 * common/net/mod.rs): the Rust transmit function of the device's driver, called by
 * ldd3_start_xmit.
 *
 * Why a trampoline: ndo_start_xmit returns `netdev_tx_t`, an enum. Under kCFI, clang hashes an
 * indirect call's type with enums by name (`9netdev_tx`), which a Rust function can only
 * match with `#[cfi_encoding]`, a feature out-of-tree modules may not use
 * (rust_allowed_features in scripts/Makefile.build). So net_device_ops.ndo_start_xmit is this
 * C function of the true type, and it calls the Rust one through a pointer whose type has only
 * integers and struct pointers, which Rust and C hash alike.
 */
struct ldd3_priv_head {
	int (*start_xmit)(struct sk_buff *skb, struct net_device *dev);
};
netdev_tx_t ldd3_start_xmit(struct sk_buff *skb, struct net_device *dev);

void ldd3_dev_hold(struct net_device *dev);
void ldd3_dev_put(struct net_device *dev);
void ldd3_netif_start_queue(struct net_device *dev);
void ldd3_netif_stop_queue(struct net_device *dev);
void ldd3_netif_wake_queue(struct net_device *dev);
void ldd3_eth_hw_addr_set(struct net_device *dev, const u8 *addr);
void ldd3_netdev_info(const struct net_device *dev, const void *fmt_args);
void ldd3_dev_core_stats_rx_dropped_inc(struct net_device *dev);
void ldd3_netif_napi_add(struct net_device *dev, struct napi_struct *napi,
			 int (*poll)(struct napi_struct *, int), int weight);
bool ldd3_napi_schedule(struct napi_struct *napi);
void ldd3_napi_gro_receive(struct napi_struct *napi, struct sk_buff *skb);
void ldd3_skb_checksum_unnecessary(struct sk_buff *skb);
bool ldd3_skb_checksum_partial(const struct sk_buff *skb);
void ldd3_skb_set_protocol_eth(struct sk_buff *skb, struct net_device *dev);
bool ldd3_skb_is_super_frame(const struct sk_buff *skb);
int ldd3_skb_copy_dev(const struct sk_buff *skb, u8 *to);
struct sk_buff *ldd3_skb_forward(struct sk_buff *skb);
void ldd3_kfree_skb_too_small(struct sk_buff *skb);
