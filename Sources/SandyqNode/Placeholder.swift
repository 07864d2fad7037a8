public enum SandyqNodeModule {}
