package org.egressgw.control.policy;

import org.egressgw.control.k8s.LabelSelector;

/**
 * One entry of a policy's {@code spec.selectors}: the pods it selects must match all present
 * selectors. At least one of podSelector and namespaceSelector is present.
 *
 * @param podSelector matched against pod labels (plus {@code io.kubernetes.pod.namespace}); null = any pod
 * @param namespaceSelector matched against the pod's Namespace labels; null = any namespace
 * @param nodeSelector matched against the labels of the pod's Node; null = any node
 */
public record Selector(LabelSelector podSelector, LabelSelector namespaceSelector, LabelSelector nodeSelector) {
}
