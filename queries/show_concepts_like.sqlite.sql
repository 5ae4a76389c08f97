SELECT concept.name AS name, concept.kind AS kind, concept.level AS level, (SELECT coalesce(sum(concept_count.n_tokens), ?) AS coalesce_1 
FROM concept_count 
WHERE concept_count.concept_id = concept.id) AS n_tokens, concept.description AS description 
FROM concept 
WHERE lower(concept.name) LIKE lower(?) ESCAPE '\' ORDER BY concept.name
 LIMIT ? OFFSET ?
-- parameters: {'coalesce_2': 0, 'param_1': 'upos:%', 'param_2': 10001, 'param_3': 0}
