// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Netlink requests: rtnetlink dumps (qdiscs, filters, a link's kind) and
 * generic netlink (the "netdev" family's XDP features). libbpf talks
 * netlink only for what it attaches; the rest is asked here, one socket per
 * request, as the command lives for a moment.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include "hp.h"

int nl_request(int proto, const struct nlmsghdr *req, nl_answer_fn fn, void *ctx)
{
	static char buf[65536];
	bool dump = req->nlmsg_flags & NLM_F_DUMP;
	struct nlmsghdr *nh;
	int fd, err = 0;
	ssize_t len;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, proto);
	if (fd < 0 || send(fd, req, req->nlmsg_len, 0) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		len = recv(fd, buf, sizeof(buf), 0);
		if (len < 0) {
			err = -errno;
			goto out;
		}
		for (nh = (void *)buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_type == NLMSG_DONE)
				goto out;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				/* An error, or the ACK that ends a request that is no dump. */
				err = ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
				goto out;
			}
			err = fn(nh, ctx);
			if (err)
				goto out;
		}
		if (!dump && !(req->nlmsg_flags & NLM_F_ACK))
			goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	return err;
}

const struct nlattr *nl_attr_find(const void *data, int len, __u16 type)
{
	const struct nlattr *a = data;

	while (len >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) && a->nla_len <= len) {
		if ((a->nla_type & NLA_TYPE_MASK) == type)
			return a;
		len -= NLA_ALIGN(a->nla_len);
		a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
	return NULL;
}

const void *nl_attr_data(const struct nlattr *a)
{
	return (const char *)a + NLA_HDRLEN;
}

void nl_attr_put(struct nlmsghdr *nh, size_t room, __u16 type, const void *data, __u16 len)
{
	struct nlattr *a = (void *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));

	if (NLMSG_ALIGN(nh->nlmsg_len) + NLA_HDRLEN + NLA_ALIGN(len) > room)
		return; /* callers size their requests; the kernel refuses a short one */
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

struct family {
	const char *group;
	struct genl_family *out;
};

/* The multicast group named ctx->group in CTRL_ATTR_MCAST_GROUPS, if any. */
static void family_group(const struct nlattr *groups, struct family *f)
{
	const struct nlattr *g = (const void *)((const char *)groups + NLA_HDRLEN);
	int len = groups->nla_len - NLA_HDRLEN;
	const struct nlattr *name, *id;

	while (f->group && len >= (int)sizeof(*g) && g->nla_len >= sizeof(*g) &&
	       g->nla_len <= len) {
		name = nl_attr_find((const char *)g + NLA_HDRLEN, g->nla_len - NLA_HDRLEN,
				    CTRL_ATTR_MCAST_GRP_NAME);
		id = nl_attr_find((const char *)g + NLA_HDRLEN, g->nla_len - NLA_HDRLEN,
				  CTRL_ATTR_MCAST_GRP_ID);
		if (name && id &&
		    !strncmp(nl_attr_data(name), f->group, name->nla_len - NLA_HDRLEN))
			memcpy(&f->out->group, nl_attr_data(id), sizeof(f->out->group));
		len -= NLA_ALIGN(g->nla_len);
		g = (const void *)((const char *)g + NLA_ALIGN(g->nla_len));
	}
}

static int family_answer(const struct nlmsghdr *nh, void *ctx)
{
	struct family *f = ctx;
	const void *attrs = (const char *)NLMSG_DATA(nh) + GENL_HDRLEN;
	int len = nh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	const struct nlattr *id = nl_attr_find(attrs, len, CTRL_ATTR_FAMILY_ID);
	const struct nlattr *groups = nl_attr_find(attrs, len, CTRL_ATTR_MCAST_GROUPS);

	if (id)
		memcpy(&f->out->id, nl_attr_data(id), sizeof(f->out->id));
	if (groups)
		family_group(groups, f);
	return 0;
}

int genl_family(const char *name, const char *group, struct genl_family *out)
{
	struct {
		struct nlmsghdr nh;
		struct genlmsghdr g;
		char attrs[64];
	} req = {
		.nh = { .nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN),
			.nlmsg_type = GENL_ID_CTRL,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK },
		.g = { .cmd = CTRL_CMD_GETFAMILY, .version = 1 },
	};
	struct family f = { group, out };

	memset(out, 0, sizeof(*out));
	nl_attr_put(&req.nh, sizeof(req), CTRL_ATTR_FAMILY_NAME, name, strlen(name) + 1);
	return nl_request(NETLINK_GENERIC, &req.nh, family_answer, &f);
}
