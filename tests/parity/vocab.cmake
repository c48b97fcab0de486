# Union-vocabulary alignment on the Hugging Face-trained tokenizer fixtures
# (made by tokenizer_parity_fixtures, see tokenizer.cmake) and on the zoo's tokenizers
# (experiments/tokenizers/).
add_executable(rlae_vocab_alignment ${CMAKE_CURRENT_LIST_DIR}/test_vocab_alignment.cpp)
target_link_libraries(rlae_vocab_alignment PRIVATE rlae_common GTest::gtest_main rlae_warnings)
add_test(NAME vocab_alignment COMMAND rlae_vocab_alignment)
set_tests_properties(vocab_alignment PROPERTIES
                     FIXTURES_REQUIRED rlae_tokenizer_fixtures
                     ENVIRONMENT "RLAE_TOKENIZER_FIXTURES=${RLAE_TOKENIZER_FIXTURES};RLAE_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
                     TIMEOUT 300 LABELS parity)
