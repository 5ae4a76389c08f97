SELECT concept.name AS name, concept.kind AS kind, concept.level AS level, (SELECT coalesce(sum(concept_count.n_tokens), %(coalesce_2)s::INTEGER) AS coalesce_1 
FROM concept_count 
WHERE concept_count.concept_id = concept.id) AS n_tokens, concept.description AS description 
FROM concept 
WHERE lower(concept.name) LIKE lower(%(param_1)s::VARCHAR) ESCAPE '\' ORDER BY concept.name COLLATE "C" 
 LIMIT %(param_2)s::INTEGER
-- parameters: {'coalesce_2': 0, 'param_1': 'upos:%', 'param_2': 10001}
