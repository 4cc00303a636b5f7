// ESLint with typescript-eslint: the project's own rules on top of the recommended ones. `npm test`
// runs it (scripts/lint.sh).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** `.catch(() => undefined)`, `.catch(() => {})`, `.catch(() => [])` and the like: a failure dropped without a word. */
const silentCatch = [
  "CallExpression[callee.property.name='catch'] > ArrowFunctionExpression[params.length=0][body.type=/^(Identifier|Literal|ArrayExpression|ObjectExpression|TemplateLiteral)$/]",
  "CallExpression[callee.property.name='catch'] > ArrowFunctionExpression[params.length=0][body.type='BlockStatement'][body.body.length=0]",
].map((selector) => ({ selector, message: 'A failure is never dropped silently: log it (with the error it follows), or name what it means (see model/ignore.ts).' }));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'var/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: false } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      eqeqeq: ['error', 'always'],
      'no-restricted-syntax': ['error', ...silentCatch, { selector: 'TSEnumDeclaration', message: 'No enums: string-literal unions from `as const` arrays.' }],
    },
  },
  {
    // Tests wait, retry and clean up best effort: their catches may be quiet.
    files: ['test/**/*.ts', '**/*.test.ts', 'bench/**/*.ts'],
    rules: { 'no-restricted-syntax': ['error', { selector: 'TSEnumDeclaration', message: 'No enums.' }] },
  },
);
