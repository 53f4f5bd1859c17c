package org.egressgw.tunio;

import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.IgnoreError;
import jnr.ffi.annotations.SaveError;
import jnr.ffi.types.intptr_t;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;

/**
 * The single native edge of this module: the libc functions it calls (a jnr-ffi interface), the loaded
 * singleton {@link #C}, and every kernel ABI constant it relies on, so that struct layouts and magic numbers
 * live in one place.
 *
 * <p>Linux x86_64 only. Values are from the glibc/kernel UAPI headers ({@code <linux/if_tun.h>},
 * {@code <net/if.h>}, {@code <sys/socket.h>}, {@code <bits/uio.h>}, {@code <netinet/in.h>}, {@code <poll.h>},
 * {@code <fcntl.h>}, {@code <sched.h>}, {@code <asm-generic/errno*.h>}, {@code <linux/netlink.h>},
 * {@code <linux/if_packet.h>}, {@code <linux/sockios.h>}) and were checked with
 * {@code sizeof}/{@code offsetof} compiled against those headers.
 *
 * <p>No function here takes more than five arguments, and none may be added that does: jnr-ffi's x86_64 assembly
 * stubs corrupt the sixth argument (jnr-ffi issue #181; seen here with {@code sendto}'s {@code addrlen}).
 * Single sends therefore go through {@code sendmmsg} with one message.
 *
 * <p>Pointer parameters are declared as {@code long} (annotated {@link intptr_t}) so packet-path calls
 * pass raw native addresses and allocate nothing. Functions whose errno matters are {@link SaveError};
 * read it with {@link #errno()} immediately after the call, on the same thread.
 *
 * <p>Thread-safety: the functions are thread-safe as libc defines them; the class holds no mutable state.
 */
public final class LibC {

    /** The libc functions used by this module. Pointers are raw addresses. */
    public interface Api {
        /** {@code int open(const char *path, int flags)} — control path only (the String is converted per call). */
        @SaveError
        int open(String path, int flags);

        /** {@code int close(int fd)}. */
        @SaveError
        int close(int fd);

        /** {@code ssize_t read(int fd, void *buf, size_t count)}. */
        @SaveError
        @ssize_t long read(int fd, @intptr_t long buf, @size_t long count);

        /** {@code ssize_t write(int fd, const void *buf, size_t count)}. */
        @SaveError
        @ssize_t long write(int fd, @intptr_t long buf, @size_t long count);

        /** {@code ssize_t writev(int fd, const struct iovec *iov, int iovcnt)}. */
        @SaveError
        @ssize_t long writev(int fd, @intptr_t long iov, int iovcnt);

        /**
         * {@code int ioctl(int fd, unsigned long request, void *argp)}. Declared with a fixed third argument;
         * on x86_64 the variadic and fixed calling conventions agree for integer/pointer arguments.
         */
        @SaveError
        int ioctl(int fd, long request, @intptr_t long argp);

        /** {@code long syscall(long number, ...)} with three arguments — for {@code bpf(2)}, which glibc does not wrap. */
        @SaveError
        long syscall(long number, long a, long b, long c);

        /** {@code int socket(int domain, int type, int protocol)}. */
        @SaveError
        int socket(int domain, int type, int protocol);

        /** {@code int bind(int fd, const struct sockaddr *addr, socklen_t addrlen)}. */
        @SaveError
        int bind(int fd, @intptr_t long addr, int addrlen);

        /** {@code int setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen)}. */
        @SaveError
        int setsockopt(int fd, int level, int optname, @intptr_t long optval, int optlen);

        /** {@code int getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen)}. */
        @SaveError
        int getsockopt(int fd, int level, int optname, @intptr_t long optval, @intptr_t long optlenPtr);

        /** {@code int sendmmsg(int fd, struct mmsghdr *msgvec, unsigned int vlen, int flags)}. */
        @SaveError
        int sendmmsg(int fd, @intptr_t long msgvec, int vlen, int flags);

        /**
         * {@code int recvmmsg(int fd, struct mmsghdr *msgvec, unsigned int vlen, int flags, struct timespec *timeout)}
         * — pass 0 as timeout.
         */
        @SaveError
        int recvmmsg(int fd, @intptr_t long msgvec, int vlen, int flags, @intptr_t long timeout);

        /** {@code ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)} — single sends that need an address. */
        @SaveError
        @ssize_t long sendmsg(int fd, @intptr_t long msg, int flags);

        /** {@code ssize_t recvmsg(int fd, struct msghdr *msg, int flags)} — single receives that need the sender. */
        @SaveError
        @ssize_t long recvmsg(int fd, @intptr_t long msg, int flags);

        /** {@code int poll(struct pollfd *fds, nfds_t nfds, int timeout)}. */
        @SaveError
        int poll(@intptr_t long fds, @size_t long nfds, int timeoutMillis);

        /** {@code int sched_setaffinity(pid_t pid, size_t cpusetsize, const cpu_set_t *mask)}; pid 0 = the calling thread. */
        @SaveError
        int sched_setaffinity(int pid, @size_t long cpusetsize, @intptr_t long mask);

        /** {@code int setns(int fd, int nstype)} — affects only the calling thread. */
        @SaveError
        int setns(int fd, int nstype);

        /** {@code int eventfd(unsigned int initval, int flags)} — a counter descriptor that wakes a thread in poll. */
        @SaveError
        int eventfd(int initval, int flags);

        /** {@code char *strerror(int errnum)} — control path only. */
        @IgnoreError
        String strerror(int errnum);
    }

    /** The loaded libc. */
    public static final Api C = LibraryLoader.create(Api.class).load("c");

    private static final Runtime RUNTIME = Runtime.getRuntime(C);

    // ---- errno (asm-generic/errno-base.h, asm-generic/errno.h) ----
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    /** What IPv4 route deletion returns when no route matches. */
    public static final int ESRCH = 3;
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int EBADF = 9;
    /** Also EWOULDBLOCK on Linux. */
    public static final int EAGAIN = 11;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int ENODEV = 19;
    public static final int EINVAL = 22;
    public static final int EMSGSIZE = 90;
    /** What IPv4 address deletion returns when the address is not on the interface. */
    public static final int EADDRNOTAVAIL = 99;
    public static final int ENETDOWN = 100;
    public static final int ENETUNREACH = 101;
    public static final int ENOBUFS = 105;
    public static final int ETIMEDOUT = 110;
    public static final int EHOSTUNREACH = 113;

    // ---- open(2) flags (asm-generic/fcntl.h) ----
    public static final int O_RDONLY = 0x0;
    public static final int O_RDWR = 0x2;
    public static final int O_NONBLOCK = 0x800;
    public static final int O_CLOEXEC = 0x80000;

    // ---- sockets (bits/socket.h, netinet/in.h) ----
    public static final int AF_INET = 2;
    public static final int SOCK_DGRAM = 2;
    public static final int SOCK_RAW = 3;
    public static final int SOCK_NONBLOCK = 0x800;
    public static final int SOCK_CLOEXEC = 0x80000;
    /** With SOCK_RAW implies IP_HDRINCL: the caller supplies the whole IPv4 header. */
    public static final int IPPROTO_RAW = 255;
    public static final int SOL_SOCKET = 1;
    public static final int SO_SNDBUF = 7;
    /** Like SO_SNDBUF but ignores net.core.wmem_max; needs CAP_NET_ADMIN. */
    public static final int SO_SNDBUFFORCE = 32;
    public static final int SO_RCVBUF = 8;
    /** Like SO_RCVBUF but ignores net.core.rmem_max; needs CAP_NET_ADMIN. */
    public static final int SO_RCVBUFFORCE = 33;
    public static final int MSG_DONTWAIT = 0x40;
    /** msg_flags on receive: the datagram was longer than the buffer (the rest was discarded). */
    public static final int MSG_TRUNC = 0x20;

    // ---- ioctls (linux/if_tun.h, linux/sockios.h) ----
    /** {@code _IOW('T', 202, int)}. */
    public static final long TUNSETIFF = 0x400454caL;
    public static final long SIOCGIFMTU = 0x8921L;
    public static final long SIOCGIFINDEX = 0x8933L;
    public static final short IFF_TUN = 0x0001;
    public static final short IFF_TAP = 0x0002;
    public static final short IFF_NO_PI = 0x1000;
    public static final short IFF_MULTI_QUEUE = 0x0100;
    /** Every read and write on the descriptor is prefixed by a {@code struct virtio_net_hdr}. */
    public static final short IFF_VNET_HDR = 0x4000;
    /** {@code _IOW('T', 208, unsigned int)}: the offloads (TUN_F_*) the reader accepts; 0 = none. */
    public static final long TUNSETOFFLOAD = 0x400454d0L;
    /** {@code TUNSETSTEERINGEBPF}: {@code _IOR('T', 224, int)}, the argument points to a BPF program fd (-1 detaches). */
    public static final long TUNSETSTEERINGEBPF = 0x800454e0L;
    /** {@code __NR_bpf} on x86_64. */
    public static final long SYS_BPF = 321;
    /** {@code _IOR('T', 215, int)}. */
    public static final long TUNGETVNETHDRSZ = 0x800454d7L;
    /** {@code _IOW('T', 216, int)}: size of the vnet header prefix, at least 10. */
    public static final long TUNSETVNETHDRSZ = 0x400454d8L;
    /** {@code _IOW('T', 220, int)}: non-zero = the vnet header's 16-bit fields are little-endian on every arch. */
    public static final long TUNSETVNETLE = 0x400454dcL;

    // ---- struct ifreq (net/if.h): char ifr_name[IFNAMSIZ]; union { short flags; int mtu; int ifindex; ... } ----
    public static final int IFNAMSIZ = 16;
    public static final int SIZEOF_IFREQ = 40;
    public static final int IFREQ_NAME_OFFSET = 0;
    /** ifr_flags (short), ifr_mtu (int) and ifr_ifindex (int) all sit at the start of the union. */
    public static final int IFREQ_UNION_OFFSET = 16;

    // ---- struct pollfd (poll.h): int fd; short events; short revents; ----
    public static final int SIZEOF_POLLFD = 8;
    public static final int POLLFD_FD_OFFSET = 0;
    public static final int POLLFD_EVENTS_OFFSET = 4;
    public static final int POLLFD_REVENTS_OFFSET = 6;
    public static final short POLLIN = 0x1;
    public static final short POLLERR = 0x8;
    public static final short POLLHUP = 0x10;
    public static final short POLLNVAL = 0x20;

    // ---- struct iovec (bits/types/struct_iovec.h): void *iov_base; size_t iov_len; ----
    public static final int SIZEOF_IOVEC = 16;
    public static final int IOVEC_BASE_OFFSET = 0;
    public static final int IOVEC_LEN_OFFSET = 8;

    // ---- struct msghdr (bits/socket.h), x86_64 ----
    public static final int SIZEOF_MSGHDR = 56;
    public static final int MSGHDR_NAME_OFFSET = 0;
    /** socklen_t (4 bytes) followed by 4 bytes of padding. */
    public static final int MSGHDR_NAMELEN_OFFSET = 8;
    public static final int MSGHDR_IOV_OFFSET = 16;
    public static final int MSGHDR_IOVLEN_OFFSET = 24;
    public static final int MSGHDR_CONTROL_OFFSET = 32;
    public static final int MSGHDR_CONTROLLEN_OFFSET = 40;
    public static final int MSGHDR_FLAGS_OFFSET = 48;

    // ---- struct mmsghdr: struct msghdr msg_hdr; unsigned int msg_len; (+4 padding) ----
    public static final int SIZEOF_MMSGHDR = 64;
    public static final int MMSGHDR_LEN_OFFSET = 56;

    // ---- struct sockaddr_in (netinet/in.h): sa_family_t; in_port_t (BE); struct in_addr (BE); zero[8] ----
    public static final int SIZEOF_SOCKADDR_IN = 16;
    public static final int SOCKADDR_IN_FAMILY_OFFSET = 0;
    public static final int SOCKADDR_IN_PORT_OFFSET = 2;
    public static final int SOCKADDR_IN_ADDR_OFFSET = 4;

    // ---- netlink sockets (linux/netlink.h) ----
    public static final int AF_NETLINK = 16;
    public static final int NETLINK_ROUTE = 0;
    public static final int SOL_NETLINK = 270;
    /** int option: error acks carry only the request's header, not its payload. */
    public static final int NETLINK_CAP_ACK = 10;
    /** int option: error acks carry TLVs, e.g. the kernel's error message text. */
    public static final int NETLINK_EXT_ACK = 11;
    /** struct sockaddr_nl: {@code sa_family_t nl_family; unsigned short nl_pad; __u32 nl_pid; __u32 nl_groups;}. */
    public static final int SIZEOF_SOCKADDR_NL = 12;
    public static final int SOCKADDR_NL_FAMILY_OFFSET = 0;
    /** Port id: 0 is the kernel. */
    public static final int SOCKADDR_NL_PID_OFFSET = 4;
    /** Bit mask of multicast groups (the RTMGRP_* values for NETLINK_ROUTE). */
    public static final int SOCKADDR_NL_GROUPS_OFFSET = 8;

    // ---- packet sockets (linux/if_packet.h, linux/if_ether.h, linux/if_arp.h, linux/sockios.h) ----
    public static final int AF_PACKET = 17;
    /** Ethertype of ARP (host order; sockaddr_ll wants it in network order). */
    public static final int ETH_P_ARP = 0x0806;
    /**
     * struct sockaddr_ll: {@code unsigned short sll_family; __be16 sll_protocol; int sll_ifindex;
     * unsigned short sll_hatype; unsigned char sll_pkttype; unsigned char sll_halen; unsigned char sll_addr[8];}.
     */
    public static final int SIZEOF_SOCKADDR_LL = 20;
    public static final int SOCKADDR_LL_FAMILY_OFFSET = 0;
    public static final int SOCKADDR_LL_PROTOCOL_OFFSET = 2;
    public static final int SOCKADDR_LL_IFINDEX_OFFSET = 4;
    public static final int SOCKADDR_LL_HATYPE_OFFSET = 8;
    public static final int SOCKADDR_LL_PKTTYPE_OFFSET = 10;
    public static final int SOCKADDR_LL_HALEN_OFFSET = 11;
    public static final int SOCKADDR_LL_ADDR_OFFSET = 12;
    /** The interface's hardware address into ifr_hwaddr (a struct sockaddr at the union: sa_family = ARPHRD_*). */
    public static final long SIOCGIFHWADDR = 0x8927L;
    /** ifr_hwaddr.sa_data: the hardware address bytes, after the 2-byte sa_family (the ARPHRD_* type). */
    public static final int IFREQ_HWADDR_DATA_OFFSET = IFREQ_UNION_OFFSET + 2;
    public static final int ARPHRD_ETHER = 1;

    // ---- eventfd(2) (sys/eventfd.h): read/write an 8-byte counter ----
    public static final int EFD_NONBLOCK = 0x800;
    public static final int EFD_CLOEXEC = 0x80000;

    // ---- setns(2) (sched.h) ----
    public static final int CLONE_NEWNET = 0x40000000;

    private LibC() {
    }

    /** errno saved by the last {@link SaveError} call on this thread. Allocation-free. */
    public static int errno() {
        return RUNTIME.getLastError();
    }

    /** The C library's description of {@code errno}; control path only. */
    public static String strerror(int errno) {
        final String text = C.strerror(errno);
        return text != null ? text : "errno " + errno;
    }

    /**
     * Closes, once, the descriptor kept in {@code owner}'s {@code volatile int} field that {@code fd} updates: the
     * field becomes -1, and a later or concurrent call finds -1 (or any negative value) and does nothing. The
     * {@code close()} of this module's descriptor owners; the result of {@code close(2)} is ignored.
     */
    public static <T> void closeOnce(AtomicIntegerFieldUpdater<T> fd, T owner) {
        final int descriptor = fd.getAndSet(owner, -1);
        if (descriptor >= 0) {
            C.close(descriptor);
        }
    }

    /** An exception for the failed {@code operation} carrying the current thread's errno. */
    static NativeIoException lastError(String operation) {
        return new NativeIoException(operation, errno());
    }
}
