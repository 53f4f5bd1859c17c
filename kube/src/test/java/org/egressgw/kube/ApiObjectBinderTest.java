package org.egressgw.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.egressgw.control.k8s.NamespaceObj;
import org.egressgw.control.k8s.Pod;
import org.egressgw.control.policy.EgressPolicy;
import org.junit.jupiter.api.Test;

/** The binder on its own: names, line stripping and values that YAML would like to reinterpret. */
class ApiObjectBinderTest {
    private final KubernetesSerialization serialization = new KubernetesSerialization();
    private final ApiObjectBinder binder = new ApiObjectBinder(serialization);

    @Test
    void labelValuesSurviveExactlyWhateverTheyLookLike() {
        List<String> values = List.of("", "null", "Null", "~", "true", "no", "0777", "0x1F", "1e3", ".inf", "-",
                "a: b", "#not a comment", "- item", "[x]", "{y}", "*alias", "&anchor", "!tag", "%dir", "@", "`",
                "multi\nline", "tab\there", "quote\"d", "back\\slash", "ünïcødé", "\uD83D\uDE00", " lead", "trail ",
                "\u0007bell", "<<");
        Map<String, String> labels = new LinkedHashMap<>();
        for (int i = 0; i < values.size(); i++) {
            labels.put("k" + i, values.get(i));
        }
        ApiObjectBinder.Bound<NamespaceObj> b = binder.namespace(new NamespaceBuilder()
                .withNewMetadata().withName("ns").withLabels(labels).endMetadata().build());
        assertEquals(List.of(), b.problems());
        assertEquals(labels, b.value().labels());
    }

    @Test
    void randomLabelValuesRoundTrip() {
        Random r = new Random(42);
        String alphabet = "aZ09-_./: #'\"\\\n\t{}[],&*!|>%@`~?<=\u00e9\u4e2d";
        for (int n = 0; n < 300; n++) {
            Map<String, String> labels = new LinkedHashMap<>();
            for (int k = 0; k < 3; k++) {
                StringBuilder v = new StringBuilder();
                int len = r.nextInt(12);
                for (int i = 0; i < len; i++) {
                    v.append(alphabet.charAt(r.nextInt(alphabet.length())));
                }
                labels.put("key" + k, v.toString());
            }
            ApiObjectBinder.Bound<NamespaceObj> b = binder.namespace(new NamespaceBuilder()
                    .withNewMetadata().withName("ns").withLabels(labels).endMetadata().build());
            assertEquals(labels, b.value().labels(), "case " + n);
        }
    }

    @Test
    void genericObjectWithoutKindOrApiVersionGetsTheInformersType() {
        GenericKubernetesResource r = serialization.unmarshal("""
                metadata: {name: p}
                spec:
                  selectors: [{podSelector: {}}]
                  destinationCIDRs: [203.0.113.0/24]
                  egressGateway: {nodeSelector: {}, egressIP: 192.0.2.1}
                """, GenericKubernetesResource.class);
        ApiObjectBinder.Bound<EgressPolicy> b = binder.policy(r);
        assertEquals(List.of(), b.problems());
        assertEquals("p", b.value().name());
        assertNull(r.getKind(), "the informer's object is not modified");
    }

    @Test
    void hostilePolicySpecsAreProblemsNeverExceptions() {
        List<String> specs = List.of("null", "[]", "\"text\"", "{selectors: 3}", "{selectors: [null]}",
                "{selectors: [{podSelector: {matchLabels: [1]}}], destinationCIDRs: [{}]}",
                "{unknownField: 1}", "{selectors: [{podSelector: {}}], destinationCIDRs: ['300.0.0.0/8'], "
                        + "egressGateway: {nodeSelector: {}}}");
        for (String spec : specs) {
            GenericKubernetesResource r = serialization.unmarshal(
                    "apiVersion: cilium.io/v2\nkind: CiliumEgressGatewayPolicy\nmetadata: {name: h}\nspec: " + spec + "\n",
                    GenericKubernetesResource.class);
            ApiObjectBinder.Bound<EgressPolicy> b = binder.policy(r);
            assertNull(b.value(), spec);
            assertEquals(1, b.problems().size(), spec);
            assertTrue(b.problems().get(0).startsWith("kubernetes:CiliumEgressGatewayPolicy/h: "), b.problems().get(0));
        }
    }

    @Test
    void wrongApiVersionIsRefusedAsInAFile() {
        GenericKubernetesResource r = serialization.unmarshal(
                "apiVersion: cilium.io/v2alpha1\nkind: CiliumEgressGatewayPolicy\nmetadata: {name: old}\nspec: {}\n",
                GenericKubernetesResource.class);
        ApiObjectBinder.Bound<EgressPolicy> b = binder.policy(r);
        assertEquals(List.of("kubernetes:CiliumEgressGatewayPolicy/old: apiVersion: unsupported apiVersion "
                + "'cilium.io/v2alpha1' for CiliumEgressGatewayPolicy (expected cilium.io/v2)"), b.problems());
    }

    @Test
    void badPodAddressNamesThePodAndField() {
        ApiObjectBinder.Bound<Pod> b = binder.pod(new PodBuilder().withNewMetadata().withName("w").withNamespace("n")
                .endMetadata().withNewStatus().withPodIP("10.0.0.300").endStatus().build());
        assertEquals(List.of("kubernetes:Pod/n/w: status.podIP: not an IP address: '10.0.0.300'"), b.problems());
    }

    @Test
    void lineNumbersAreStrippedOnlyWhereTheyAre() {
        assertEquals("kubernetes:Pod/a/b: x: y", ApiObjectBinder.withoutLine("kubernetes:Pod/a/b", "kubernetes:Pod/a/b:12: x: y"));
        assertEquals("kubernetes:Pod/a/b: x: y", ApiObjectBinder.withoutLine("kubernetes:Pod/a/b", "kubernetes:Pod/a/b: x: y"));
        assertEquals("other:3: z", ApiObjectBinder.withoutLine("kubernetes:Pod/a/b", "other:3: z"));
    }
}
