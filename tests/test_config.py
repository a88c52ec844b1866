import pytest

from kg.config import Settings
from kg.errors import ConfigError


def test_defaults_bind_loopback_read_only():
    s = Settings.from_env({})
    assert (s.host, s.port, s.token, s.read_only) == ("127.0.0.1", 8000, None, True)


def test_environment_values_are_typed():
    s = Settings.from_env({"COPROKG_PORT": "8123", "COPROKG_QUERY_TIMEOUT": "2.5",
                           "COPROKG_CORS_ORIGINS": "http://a.example, http://b.example",
                           "COPROKG_STORE": "sparql:http://127.0.0.1:7878/query"})
    assert s.port == 8123 and s.query_timeout == 2.5
    assert s.cors_origins == ("http://a.example", "http://b.example")
    assert s.is_remote


@pytest.mark.parametrize("var,value", [("COPROKG_PORT", "80x"), ("COPROKG_PORT", "70000"),
                                       ("COPROKG_QUERY_TIMEOUT", "-1"), ("COPROKG_STORE", "sparql:ftp://x")])
def test_bad_value_names_the_variable(var, value):
    with pytest.raises(ConfigError, match=var):
        Settings.from_env({var: value})


def test_config_file_and_unknown_key(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('port = 9000\ncors_origins = ["http://x.example"]\n')
    s = Settings.from_env({"COPROKG_CONFIG": str(good)})
    assert s.port == 9000 and s.cors_origins == ("http://x.example",)
    bad = tmp_path / "bad.toml"
    bad.write_text("prot = 9000\n")
    with pytest.raises(ConfigError, match="prot"):
        Settings.from_env({"COPROKG_CONFIG": str(bad)})
