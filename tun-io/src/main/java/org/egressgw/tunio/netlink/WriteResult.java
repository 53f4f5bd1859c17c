package org.egressgw.tunio.netlink;

/**
 * What an idempotent write through {@link RtNetlink} did. Callers that reconcile towards a desired state treat
 * all of them as success; callers that must own what they create can tell "created" from "was there".
 */
public enum WriteResult {
    /** The object did not exist and was created. */
    CREATED,
    /**
     * An object with the same key existed (the kernel answered EEXIST, or for proxy entries a lookup found it);
     * nothing was changed. The existing object may differ in attributes outside its key, e.g. a route with the
     * same table and prefix but another device or protocol: use replace to force it.
     */
    EXISTED,
    /** Created or replaced ({@code NLM_F_CREATE | NLM_F_REPLACE}); the kernel does not say which. */
    REPLACED,
    /** The object existed and was deleted. */
    DELETED,
    /** There was nothing to delete (ENOENT, ESRCH or EADDRNOTAVAIL, depending on the object). */
    ABSENT
}
