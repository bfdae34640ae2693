def pytest_configure(config):
    config.addinivalue_line(
        "markers", "text_analysis: a search test that depends on the text analyzer"
    )
