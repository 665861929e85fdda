"""m.generate against `spectra generate` (greedy: the same text)."""
import spectra
from conftest import cli


def test_generate_is_the_cli(smollm_path):
    prompt = "The capital of France is"
    m = spectra.Model(smollm_path, threads=2)
    text = m.generate(prompt, 12)
    ref = cli("generate", "--model", smollm_path, "--prompt", prompt, "-n", 12, "--threads", 2).stdout
    assert ref == prompt + text + "\n"
    assert len(text) > 0
    # Ids in, the same continuation out.
    assert m.generate(m.measure(prompt).tokens.tolist(), 12) == text
