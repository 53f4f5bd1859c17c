package org.egressgw.control.yaml;

import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Reads YAML (and JSON, which SnakeYAML composes too) into node trees that keep their line marks,
 * so that binders can name the line of every bad value. Nothing is constructed into Java objects:
 * no tags are instantiated and aliases stay shared nodes; "<<" merge keys are applied (Kubernetes
 * accepts them too).
 */
public final class YamlFiles {
    /** Large enough for {@code kubectl get pods -A -o yaml} of a big cluster. */
    private static final int CODE_POINT_LIMIT = 256 * 1024 * 1024;

    private YamlFiles() {
    }

    /**
     * Composes every non-empty document of a file.
     *
     * @param file read as UTF-8; named in errors as {@code file.toString()}
     * @throws IOException when the file cannot be read
     * @throws SourceException when it is not UTF-8 text or not well-formed YAML
     */
    public static List<YamlNode> read(Path file) throws IOException, SourceException {
        byte[] bytes = Files.readAllBytes(file);
        String name = file.toString();
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new SourceException(name, 0, "not UTF-8 text");
        }
        return parse(name, text);
    }

    /**
     * Composes every non-empty document of {@code text}; documents that are empty or just
     * {@code null} are skipped.
     *
     * @param name how errors name the source
     * @throws SourceException when the text is not well-formed YAML
     */
    public static List<YamlNode> parse(String name, String text) throws SourceException {
        if (!text.isEmpty() && text.charAt(0) == '\uFEFF') {
            text = text.substring(1);
        }
        LoaderOptions options = new LoaderOptions();
        options.setCodePointLimit(CODE_POINT_LIMIT);
        options.setAllowRecursiveKeys(false);
        options.setMergeOnCompose(true); // "<<" merge keys, as Kubernetes' YAML reader supports them
        List<YamlNode> documents = new ArrayList<>();
        try {
            for (Node node : new Yaml(options).composeAll(new StringReader(text))) {
                if (node == null || (node instanceof ScalarNode && node.getTag().equals(Tag.NULL))) {
                    continue;
                }
                documents.add(new YamlNode(name, node, ""));
            }
        } catch (MarkedYAMLException e) {
            Mark mark = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
            int line = mark != null ? mark.getLine() + 1 : 0;
            throw new SourceException(name, line, "invalid YAML: " + describe(e));
        } catch (RuntimeException | StackOverflowError e) {
            // SnakeYAML signals most problems with YAMLException, but hostile input must never
            // escape as anything other than a SourceException.
            throw new SourceException(name, 0, "invalid YAML: " + oneLine(String.valueOf(e.getMessage())));
        }
        return documents;
    }

    private static String describe(MarkedYAMLException e) {
        String problem = e.getProblem() != null ? e.getProblem() : "syntax error";
        String context = e.getContext();
        return oneLine(context != null ? context + ": " + problem : problem);
    }

    private static String oneLine(String s) {
        String t = s.replaceAll("\\s+", " ").trim();
        return t.length() > 200 ? t.substring(0, 200) + "..." : t;
    }
}
