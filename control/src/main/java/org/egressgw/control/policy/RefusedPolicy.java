package org.egressgw.control.policy;

/**
 * A CiliumEgressGatewayPolicy object that was refused as a whole; the other policies keep working.
 *
 * @param name {@code metadata.name} when it could be read, else null
 * @param source {@code file:line} of the object
 * @param problem {@code file:line: reason}
 */
public record RefusedPolicy(String name, String source, String problem) {
}
