"""What several test files share: AppTest helpers and the browser fixtures."""
