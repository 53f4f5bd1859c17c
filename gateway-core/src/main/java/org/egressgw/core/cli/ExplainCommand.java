package org.egressgw.core.cli;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import org.egressgw.control.explain.Explainer;
import org.egressgw.control.explain.Explanation;
import org.egressgw.control.explain.PodRef;
import org.egressgw.packet.Ipv4Address;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code explain}: which policy, gateway and egress IP a pod's traffic to a destination uses, or
 * exactly why none does. Exit code 0 when it is served (here or by another gateway), 3 otherwise.
 */
@Command(name = "explain", description = "Which policy, gateway and egress IP a pod uses to reach a destination, or why none.")
final class ExplainCommand implements Callable<Integer> {
    static final class Who {
        @Option(names = "--pod", paramLabel = "NAMESPACE/NAME", required = true)
        String pod;

        @Option(names = "--src", paramLabel = "IP", required = true)
        String src;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Who who;

    @Option(names = "--dst", paramLabel = "IP[:PORT]", required = true, description = "The destination.")
    String dst;

    @Mixin
    PolicySourceOptions source;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "text (default) or json.")
    String output = "text";

    @Override
    public Integer call() {
        boolean json = "json".equals(output);
        try {
            String dstIp = dst;
            int port = -1;
            int colon = dst.indexOf(':');
            if (colon >= 0) {
                dstIp = dst.substring(0, colon);
                port = Integer.parseInt(dst.substring(colon + 1));
            }
            int d = Ipv4Address.parse(dstIp);
            if (source.online()) {
                String q = (who.pod != null ? "pod=" + enc(who.pod) : "src=" + enc(who.src)) + "&dst=" + enc(dst)
                        + (json ? "&format=json" : "");
                String body = source.adminClient().get("/explain?" + q);
                System.out.print(body);
                return body.contains("SERVED") && !body.contains("NOT_SERVED") ? 0 : 3;
            }
            PolicySourceOptions.Offline o = source.load();
            Explanation e = who.pod != null
                    ? Explainer.explain(o.state(), o.compiled(), PodRef.parse(who.pod), d, port)
                    : Explainer.explain(o.state(), o.compiled(), Ipv4Address.parse(who.src), d, port);
            System.out.print(json ? e.toJson() + "\n" : e.toText());
            return e.verdict().name().startsWith("SERVED") ? 0 : 3;
        } catch (Exception e) {
            return PolicySourceOptions.fail(e);
        }
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
